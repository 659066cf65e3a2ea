using ErrorHub.Internal;
using Microsoft.AspNetCore.Mvc.Filters;

namespace ErrorHub.AspNetCore;

/// <summary>
/// Sees an exception of a controller action or a Razor page (its creation, model binding, filters, the action or
/// handler) before the app's own exception filters do. An exception filter that handles it (<c>ExceptionHandled</c>)
/// never lets it reach <c>UseErrorHub()</c>, and many do not log it: MVC 5's <c>HandleErrorAttribute</c> style of
/// filter, which answers every exception with the error view and a 500, hid every crash of such an app. The exception
/// is held like the middleware's, until the response completes: a filter that answers below 500 (a 404 for a missing
/// product, a friendly view) handled it and it is not reported; one that answers 500 did not, and it is, once, with the
/// request and user; one that lets it go on leaves it to the middleware, which only lengthens its frames.
/// </summary>
/// <remarks>
/// Added by a filter provider only to the actions and pages that have an exception filter of the app's: without one,
/// the exception goes on to <c>UseErrorHub()</c> anyway, and an exception filter costs every request of the action (MVC
/// awaits the action in one more state machine). MVC asks the providers once per action and keeps the filters.
/// </remarks>
internal sealed class MvcReporting(ErrorHubClient client) : IFilterProvider, IExceptionFilter
{
    /// <summary>After MVC's own provider, which makes the filters of attributes and factories.</summary>
    public int Order => 0;

    public void OnProvidersExecuting(FilterProviderContext context)
    {
        if (!client.IsEnabled)
        {
            return;
        }

        // An action with filters MVC makes per request (TypeFilterAttribute) asks again each time, with the filters it
        // could keep, this one among them.
        var results = context.Results;
        var appHasOne = false;
        foreach (var item in results)
        {
            if (ReferenceEquals(item.Filter, this))
            {
                return;
            }

            appHasOne |= item.Filter is IExceptionFilter or IAsyncExceptionFilter;
        }

        if (appHasOne)
        {
            // Exception filters run innermost first, and the last one is innermost: this one sees the exception first.
            results.Add(new FilterItem(new FilterDescriptor(this, FilterScope.Last), this) { IsReusable = true });
        }
    }

    public void OnProvidersExecuted(FilterProviderContext context)
    {
    }

    public void OnException(ExceptionContext context)
    {
        try
        {
            if (context.Exception is { } exception && !context.ExceptionHandled
                && !ErrorHubMiddleware.IsClientAbort(context.HttpContext, exception))
            {
                client.Capture(exception, ErrorHubLevel.Error, CaptureSource.Middleware, configure: null, context.HttpContext);
            }
        }
        catch (Exception)
        {
            // Nothing may reach MVC's invoker from here: Capture logs its own failures.
        }
    }
}
