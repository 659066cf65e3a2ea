using ErrorHub.Internal;
using Microsoft.AspNetCore.Http;
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
    private readonly HandledByAppFilters _handledByAppFilters = new(client);
    private readonly HandledByAppResultFilters _handledByAppResultFilters = new(client);

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
        var appHasExceptionFilter = false;
        var appHasActionOrPageFilter = false;
        var appHasResultFilter = false;
        foreach (var item in results)
        {
            if (ReferenceEquals(item.Filter, this) || ReferenceEquals(item.Filter, _handledByAppFilters)
                || ReferenceEquals(item.Filter, _handledByAppResultFilters))
            {
                return;
            }

            appHasExceptionFilter |= item.Filter is IExceptionFilter or IAsyncExceptionFilter;
            appHasActionOrPageFilter |= item.Filter is IActionFilter or IAsyncActionFilter or IPageFilter or IAsyncPageFilter;
            appHasResultFilter |= item.Filter is IResultFilter or IAsyncResultFilter;
        }

        if (appHasExceptionFilter)
        {
            // Exception filters run innermost first, and the last one is innermost: this one sees the exception first.
            results.Add(new FilterItem(new FilterDescriptor(this, FilterScope.Last), this) { IsReusable = true });
        }

        if (appHasActionOrPageFilter)
        {
            // MVC keeps the providers' order (it sorted the descriptors before): the first is the outermost, which sees
            // what every action or page filter of the app made of the exception.
            results.Insert(0, new FilterItem(new FilterDescriptor(_handledByAppFilters, FilterScope.First), _handledByAppFilters) { IsReusable = true });
        }

        if (appHasResultFilter)
        {
            // A filter of its own, not a result filter on every action: an action without result filters executes its result
            // directly, and one filter would make MVC run the result filter pipeline (two contexts) for every request of it.
            results.Insert(0, new FilterItem(new FilterDescriptor(_handledByAppResultFilters, FilterScope.First), _handledByAppResultFilters) { IsReusable = true });
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

/// <summary>
/// The outermost action and page filter: sees an exception that an action filter or page filter of the app (or the
/// controller's or page model's own <c>OnActionExecuted</c>/<c>OnPageHandlerExecuted</c>) marked
/// <c>ExceptionHandled</c>. No exception filter and no middleware ever sees such an exception, and the filter that
/// handled it often logs nothing. It is held like the middleware's, until the response completes: an answer of 500 or
/// more (the filter's error page) did not handle the failure and it is reported, once; a redirect or a 404 did.
/// </summary>
/// <remarks>
/// Sentry reports what an MVC filter handled when the final status is 5xx, and so does ErrorHub. A synchronous filter:
/// it costs an action no state machine. An exception nobody handled goes on to the exception filters and the
/// middleware, which report it: this filter leaves it alone.
/// </remarks>
internal sealed class HandledByAppFilters(ErrorHubClient client) : IActionFilter, IPageFilter
{
    public void OnActionExecuting(ActionExecutingContext context)
    {
    }

    public void OnActionExecuted(ActionExecutedContext context) =>
        CaptureIfHandled(client, context.HttpContext, context.Exception, context.ExceptionHandled);

    public void OnPageHandlerSelected(PageHandlerSelectedContext context)
    {
    }

    public void OnPageHandlerExecuting(PageHandlerExecutingContext context)
    {
    }

    public void OnPageHandlerExecuted(PageHandlerExecutedContext context) =>
        CaptureIfHandled(client, context.HttpContext, context.Exception, context.ExceptionHandled);

    internal static void CaptureIfHandled(ErrorHubClient client, HttpContext httpContext, Exception? exception, bool handled)
    {
        try
        {
            if (exception is not null && handled && !ErrorHubMiddleware.IsClientAbort(httpContext, exception))
            {
                client.Capture(exception, ErrorHubLevel.Error, CaptureSource.Middleware, configure: null, httpContext);
            }
        }
        catch (Exception)
        {
            // Nothing may reach MVC's invoker from here: Capture logs its own failures.
        }
    }
}

/// <summary>
/// The outermost result filter, on the actions and pages that have result filters of the app's: sees an exception of the
/// result's execution (a view that fails while rendering) that a result filter of the app marked <c>ExceptionHandled</c>
/// in <c>OnResultExecuted</c>, writing its own error page. Neither exception filters nor the middleware ever see it. Held
/// as <see cref="HandledByAppFilters"/> holds what action and page filters handled: a 500 is reported, once; a redirect or
/// a 404 handled it.
/// </summary>
internal sealed class HandledByAppResultFilters(ErrorHubClient client) : IResultFilter
{
    public void OnResultExecuting(ResultExecutingContext context)
    {
    }

    public void OnResultExecuted(ResultExecutedContext context) =>
        HandledByAppFilters.CaptureIfHandled(client, context.HttpContext, context.Exception, context.ExceptionHandled);
}
