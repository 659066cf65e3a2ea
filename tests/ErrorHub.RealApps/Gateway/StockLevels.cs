using System.Globalization;
using Yarp.ReverseProxy.Transforms;

namespace ErrorHub.RealApps.Gateway;

/// <summary>
/// A response transform of an API gateway: turns the stock service's count (<c>X-Stock</c>) into what the shop's pages
/// show (<c>X-In-Stock</c>). A count that is not a number is the gateway's bug too, which YARP turns into a 502.
/// </summary>
public static class StockLevels
{
    public static ValueTask AddInStockHeader(ResponseTransformContext context)
    {
        if (context.ProxyResponse?.Headers.TryGetValues("X-Stock", out var counts) == true)
        {
            var count = int.Parse(counts.First(), CultureInfo.InvariantCulture);
            context.HttpContext.Response.Headers["X-In-Stock"] = count > 0 ? "yes" : "no";
        }

        return ValueTask.CompletedTask;
    }
}
