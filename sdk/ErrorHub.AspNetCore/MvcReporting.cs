using ErrorHub.Internal;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.Extensions.Options;

namespace ErrorHub.AspNetCore;

/// <summary>
/// Sees an exception of a controller action or a Razor page (its creation, model binding, filters, the action or
/// handler) before the app's own exception filters do. An exception filter that handles it (<c>ExceptionHandled</c>)
/// never lets it reach <c>UseErrorHub()</c>, and most do not log it: MVC 5's <c>HandleErrorAttribute</c> style of
/// filter, which answers every exception with the error view and a 500, hid every crash of such an app. The exception
/// is held like the middleware's, until the response completes: a filter that answers below 500 (a 404 for a missing
/// product, a friendly view) handled it and it is not reported; one that answers 500 did not, and it is, once, with the
/// request and user; one that lets it go on leaves it to the middleware, which only lengthens its frames.
/// Added to every MVC app by <c>AddErrorHub()</c>; an app without MVC never builds <see cref="MvcOptions"/>.
/// </summary>
internal sealed class MvcReporting(ErrorHubClient client) : IConfigureOptions<MvcOptions>, IExceptionFilter, IOrderedFilter
{
    /// <summary>Exception filters run innermost first, and the last in order is innermost: this one sees it first.</summary>
    public int Order => int.MaxValue;

    public void Configure(MvcOptions options)
    {
        if (client.IsEnabled)
        {
            options.Filters.Add(this);
        }
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
