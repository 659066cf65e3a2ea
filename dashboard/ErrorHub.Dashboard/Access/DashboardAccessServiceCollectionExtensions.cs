using ErrorHub.Dashboard.Access;
using ErrorHub.Server;
using ErrorHub.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>How the dashboard decides who may see what: docs/dashboard.md, "Access".</summary>
internal static class DashboardAccessServiceCollectionExtensions
{
    public const string AdminPolicy = "admin";

    /// <summary>
    /// Cookie sign-in and API tokens behind one scheme that picks by the request (a bearer token, else the
    /// cookie), every endpoint closed unless it says otherwise, the checks that keep a member to their
    /// projects, the start-up admin and the loopback rule, and the allowed hosts.
    /// </summary>
    public static IServiceCollection AddDashboardAccess(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton<IPasswordHasher<UserAccount>, PasswordHasher<UserAccount>>();
        services.TryAddSingleton<Accounts>();
        services.TryAddSingleton<InvitationMailing>();
        services.TryAddSingleton<ProjectAccess>();
        services.TryAddSingleton<ProjectAdmin>();
        services.TryAddSingleton<SetupLink>();
        services.TryAddSingleton<AccessCookieEvents>();
        services.TryAddSingleton<LoopbackUntilAdmin>();
        services.AddHostedService<AccessBootstrap>();
        services.AddHostedService(provider => provider.GetRequiredService<LoopbackUntilAdmin>());

        services.AddAuthentication(AccessClaims.Scheme)
            .AddPolicyScheme(AccessClaims.Scheme, "ErrorHub", options => options.ForwardDefaultSelector =
                context => ApiTokenAuthenticationHandler.HasBearerToken(context.Request) ? AccessClaims.TokenScheme : AccessClaims.CookieScheme)
            .AddCookie(AccessClaims.CookieScheme, options =>
            {
                options.LoginPath = "/login";
                options.AccessDeniedPath = "/access-denied";
                options.ReturnUrlParameter = "returnUrl";
                options.Cookie.Name = "ErrorHub.Session";
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Lax;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.SlidingExpiration = true;
                options.EventsType = typeof(AccessCookieEvents);
            })
            .AddScheme<AuthenticationSchemeOptions, ApiTokenAuthenticationHandler>(AccessClaims.TokenScheme, null);
        services.AddOptions<CookieAuthenticationOptions>(AccessClaims.CookieScheme)
            .Configure<IOptions<ErrorHubServerOptions>>((cookie, server) => cookie.ExpireTimeSpan = server.Value.Access.SessionLifetime);

        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(AdminPolicy, policy => policy.RequireRole(AccessClaims.AdminRole));
        services.AddCascadingAuthenticationState();
        services.AddScoped<AuthenticationStateProvider, RevalidatingAccessStateProvider>();

        // The keys that protect sign-in cookies and antiforgery tokens live in the data directory, so sessions
        // survive a restart (and a container's new home directory).
        services.AddDataProtection().SetApplicationName("ErrorHub");
        services.AddOptions<KeyManagementOptions>()
            .Configure<IOptions<ErrorHubServerOptions>, IHostEnvironment, ILoggerFactory>((keys, server, environment, loggers) =>
                keys.XmlRepository = new FileSystemXmlRepository(
                    new DirectoryInfo(Path.Combine(Path.GetFullPath(server.Value.DataDirectory, environment.ContentRootPath), "keys")),
                    loggers));

        if (string.IsNullOrEmpty(configuration["AllowedHosts"]))
        {
            var hosts = DashboardHosts.Allowed(configuration);
            services.PostConfigure<HostFilteringOptions>(options => options.AllowedHosts = [.. hosts]);
        }

        return services;
    }
}
