using ErrorHub.Testing.Smtp;
using Xunit;

namespace ErrorHub.Notifications.Tests;

/// <summary>The tests that share one SMTP server run one after another, each clearing its mailbox first.</summary>
[CollectionDefinition(Name)]
public sealed class SmtpServerCollectionDefinition : ICollectionFixture<SmtpServerFixture>
{
    public const string Name = "smtp";
}
