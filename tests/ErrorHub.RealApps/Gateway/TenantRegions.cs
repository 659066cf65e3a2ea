using Yarp.ReverseProxy.Transforms;

namespace ErrorHub.RealApps.Gateway;

/// <summary>
/// A request transform of an API gateway: tells the destination which region serves the caller's tenant (the
/// <c>X-Tenant</c> header). A tenant missing from the map is the gateway's bug, which YARP turns into a 502.
/// </summary>
public static class TenantRegions
{
    private static readonly Dictionary<string, string> Regions = new(StringComparer.Ordinal) { ["acme"] = "eu-west" };

    public static ValueTask AddRegionHeader(RequestTransformContext context)
    {
        var tenant = context.HttpContext.Request.Headers["X-Tenant"].ToString();
        if (tenant.Length > 0)
        {
            context.ProxyRequest.Headers.Add("X-Region", Regions[tenant]);
        }

        return ValueTask.CompletedTask;
    }
}
