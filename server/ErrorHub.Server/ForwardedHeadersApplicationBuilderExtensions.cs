using ErrorHub.Server;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Running behind a reverse proxy: docs/deployment.md, "Behind a reverse proxy".</summary>
public static class ForwardedHeadersApplicationBuilderExtensions
{
    /// <summary>
    /// Call first in the pipeline. With <c>ErrorHub:ForwardedHeaders:KnownProxies</c> or <c>KnownNetworks</c> set, runs
    /// ASP.NET Core's <see cref="ForwardedHeadersMiddleware"/> for <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c>,
    /// believing them from those proxies only: the request's client address and scheme become the ones the proxy saw.
    /// With neither set it adds nothing, and the headers are ignored (a client cannot claim another address).
    /// </summary>
    public static IApplicationBuilder UseErrorHubForwardedHeaders(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);

        // Read when the pipeline is built, at host start after the options were validated, not here: a wrong value
        // then stops the start with the validator's message like every other setting.
        return app.Use(next =>
        {
            var services = app.ApplicationServices;
            var trust = services.GetRequiredService<IOptions<ErrorHubServerOptions>>().Value.ForwardedHeaders;
            if (!trust.Enabled)
            {
                return next;
            }

            var options = new ForwardedHeadersOptions
            {
                ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,

                // Walks X-Forwarded-For from the right for as long as each hop is a trusted proxy, so a chain of them
                // (a load balancer in front of nginx) works, and stops at the first address no trusted proxy vouches for.
                ForwardLimit = null,
            };

            // The middleware trusts loopback by default; only what the configuration names is trusted here.
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            foreach (var proxy in ForwardedHeadersTrustOptions.Entries(trust.KnownProxies))
            {
                options.KnownProxies.Add(ForwardedHeadersTrustOptions.ParseAddress(proxy)!);
            }

            foreach (var network in ForwardedHeadersTrustOptions.Entries(trust.KnownNetworks))
            {
                options.KnownIPNetworks.Add(ForwardedHeadersTrustOptions.ParseNetwork(network)!.Value);
            }

            return new ForwardedHeadersMiddleware(next, services.GetRequiredService<ILoggerFactory>(), Microsoft.Extensions.Options.Options.Create(options)).Invoke;
        });
    }
}
