using ErrorHub.Notifications;
using ErrorHub.Notifications.Delivery;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds e-mail notifications to a server process.</summary>
public static class NotificationsServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="NotificationOptions"/> (bound from <c>ErrorHub:Notifications</c>, validated at start-up),
    /// the alert settings, the test mail and the background worker, which sends only when SMTP is configured and
    /// only while this process holds the store's lease. Calling it again changes nothing.
    /// </summary>
    public static IServiceCollection AddErrorHubNotifications(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddErrorHubServer(configuration);
        services.AddOptions<NotificationOptions>()
            .Bind(configuration.GetSection(NotificationOptions.SectionName))
            .ValidateDataAnnotations()
            .Validate(o => o.PollInterval > TimeSpan.Zero && o.LeaseDuration > 2 * o.PollInterval, "ErrorHub:Notifications: PollInterval must be positive and LeaseDuration more than twice as long (a round may work for half the lease, then the holder must renew it).")
            .Validate(o => o.Smtp.From is null || MimeKit.MailboxAddress.TryParse(o.Smtp.From, out _), "ErrorHub:Notifications:Smtp:From is not an e-mail address.")
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Options.IValidateOptions<NotificationOptions>, TrustedCertificateValidator>());
        services.TryAddSingleton<SmtpMailSender>();

        // Unsubscribe links are signed with the keys of the process's Data Protection (the dashboard keeps them in
        // its data directory, beside those of its sign-in cookies).
        services.AddDataProtection();
        services.TryAddSingleton(provider => new UnsubscribeLinks(
            provider.GetRequiredService<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>(),
            provider.GetRequiredService<ErrorHub.Server.ServerUrls>(),
            provider.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<NotificationMessages>();
        services.TryAddSingleton<MailThreading>();
        services.TryAddSingleton<AlertSettingsStore>();
        services.TryAddSingleton<NotificationCycle>();
        services.TryAddSingleton(provider => new NotificationTestMail(
            provider.GetRequiredService<SmtpMailSender>(),
            provider.GetRequiredService<ErrorHub.Storage.INotificationStore>(),
            provider.GetRequiredService<ErrorHub.Storage.IProjectStore>(),
            provider.GetRequiredService<ErrorHub.Server.ServerUrls>(),
            provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<NotificationOptions>>(),
            provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<NotificationCycle>(),
            provider.GetRequiredService<AlertSettingsStore>(),
            provider.GetRequiredService<NotificationMessages>()));
        services.TryAddSingleton(provider => new WorkflowMail(
            provider.GetRequiredService<ErrorHub.Storage.IIssueReader>(),
            provider.GetRequiredService<ErrorHub.Storage.IIssueActivity>(),
            provider.GetRequiredService<ErrorHub.Storage.IIssueStates>(),
            provider.GetRequiredService<ErrorHub.Storage.IProjectStore>(),
            provider.GetRequiredService<ErrorHub.Storage.IAccessStore>(),
            provider.GetRequiredService<ErrorHub.Storage.INotificationStore>(),
            provider.GetRequiredService<AlertSettingsStore>(),
            provider.GetRequiredService<MailThreading>(),
            provider.GetRequiredService<UnsubscribeLinks>(),
            provider.GetRequiredService<ErrorHub.Server.ServerUrls>(),
            provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<NotificationOptions>>(),
            provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<Microsoft.Extensions.Logging.ILogger<WorkflowMail>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, NotificationWorker>());
        services.TryAddSingleton(provider => new PasswordResetMail(
            provider.GetRequiredService<SmtpMailSender>(),
            provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<NotificationOptions>>(),
            provider.GetRequiredService<Microsoft.Extensions.Logging.ILogger<PasswordResetMail>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PasswordResetMail>(provider => provider.GetRequiredService<PasswordResetMail>()));
        services.TryAddSingleton(provider => new InvitationMail(
            provider.GetRequiredService<SmtpMailSender>(),
            provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<NotificationOptions>>(),
            provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<Microsoft.Extensions.Logging.ILogger<InvitationMail>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, InvitationMail>(provider => provider.GetRequiredService<InvitationMail>()));
        return services;
    }
}
