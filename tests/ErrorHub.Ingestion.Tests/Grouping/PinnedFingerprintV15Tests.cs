using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using FluentAssertions;
using Xunit;
using static ErrorHub.Ingestion.Tests.Grouping.GroupingEvents;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Exact fingerprints of grouping version 15 (version 16's for these events) and what its events carry as legacy fingerprints: a library's own exception
/// type thrown by that library, with no frame of the app's code, is keyed by the method that threw it where nothing from its message counts.
/// The frames are those of Hangfire's PostgreSQL storage as its users reported them (the scheduler's lock that could not be taken, and a lock
/// that could not be released). Issues are keyed by these values: if one of these tests fails, a rule changed and existing issues would
/// silently split or merge (docs/grouping.md, "Changing the rules").
/// </summary>
public sealed class PinnedFingerprintV15Tests
{
    private const string Lock = "Hangfire.PostgreSql.PostgreSqlDistributedLock";

    [Fact]
    public void Grouping_version_15_follows_version_14()
    {
        GroupingRules.V15.Version.Should().Be(15);
        GroupingRules.V15.Previous.Should().BeSameAs(GroupingRules.V14);
    }

    [Fact]
    public void A_lock_that_could_not_be_taken_and_one_that_could_not_be_released_are_two_issues_and_carry_version_14s_fingerprint()
    {
        var take = Grouper.Group(LockFailure("hangfire:lock:recurring-jobs", "Could not place a lock", "PostgreSqlDistributedLock_Init_Transaction"));
        var release = Grouper.Group(LockFailure("hangfire:lock:job:4711", "Could not release a lock", "Dispose"));

        Grouper.Counted(take.Components).Should().Equal("type:PostgreSqlDistributedLockException", "throw:PostgreSqlDistributedLock.PostgreSqlDistributedLock_Init_Transaction");
        Grouper.Counted(release.Components).Should().Equal("type:PostgreSqlDistributedLockException", "throw:PostgreSqlDistributedLock.Dispose");
        take.Fingerprint.Should().Be("1400ba066cf413a493948ee8acdac565");
        release.Fingerprint.Should().Be("bc15dc7c070ed63f864125a2e0ed9507");

        var takeV14 = Grouper.Group(LockFailure("hangfire:lock:recurring-jobs", "Could not place a lock", "PostgreSqlDistributedLock_Init_Transaction"), GroupingRules.V14);
        Grouper.Counted(takeV14.Components).Should().Equal("type:PostgreSqlDistributedLockException", "throw:PostgreSqlDistributedLock");
        takeV14.Fingerprint.Should().Be(Grouper.Group(LockFailure("hangfire:lock:job:4711", "Could not release a lock", "Dispose"), GroupingRules.V14).Fingerprint,
            "version 14 keyed both by the lock's type alone");
        take.LegacyFingerprint.Should().Be(takeV14.Fingerprint, "version 14's issue keeps receiving its events");
        release.LegacyFingerprint.Should().Be(takeV14.Fingerprint);
    }

    [Fact]
    public void The_same_lock_failing_on_another_resource_is_the_same_issue()
    {
        var scheduler = Grouper.Group(LockFailure("hangfire:lock:recurring-jobs", "Could not place a lock", "PostgreSqlDistributedLock_Init_Transaction"));
        var delayed = Grouper.Group(LockFailure("hangfire:lock:schedule-poller", "Could not place a lock", "PostgreSqlDistributedLock_Init_Transaction"));

        delayed.Fingerprint.Should().Be(scheduler.Fingerprint, "the resource is a value, and the message does not count beside the throw site");
    }

    [Fact]
    public void An_app_frame_a_name_in_the_message_and_the_runtimes_or_Microsofts_types_are_keyed_as_in_version_14()
    {
        var withApp = Event(Exception(Lock + "Exception", "Could not place a lock on the resource 'hangfire:lock:reports': Lock timeout.",
            Framework(Lock, "PostgreSqlDistributedLock_Init_Transaction"),
            InApp("Shop.Reports.DailyReportJob", "Run")));
        var named = Event(Exception(Lock + "Exception", "Could not place a lock on the resource 'Shop.Reports.DailyReportJob': Lock timeout.",
            Framework(Lock, "PostgreSqlDistributedLock_Init_Transaction"),
            Framework("Hangfire.Server.RecurringJobScheduler", "Execute")));
        var runtimeType = Event(Exception("System.InvalidOperationException", "The lock was not held.",
            Framework(Lock, "Dispose"),
            Framework("Hangfire.Server.Worker", "Execute")));
        var microsoftType = Event(Exception("Microsoft.Data.SqlClient.SqlException", "Timeout expired.",
            Framework("Microsoft.Data.SqlClient.SqlConnection", "OnError"),
            Framework("Microsoft.Data.SqlClient.SqlCommand", "ExecuteReader")));

        Grouper.Counted(Grouper.Group(withApp).Components).Should().Equal("type:PostgreSqlDistributedLockException", "throw:PostgreSqlDistributedLock", "app:Shop.Reports.DailyReportJob.Run");
        Grouper.Counted(Grouper.Group(named).Components).Should().Contain("subject:Shop.Reports.DailyReportJob").And.Contain("throw:PostgreSqlDistributedLock");
        foreach (var unchanged in new[] { withApp, named, runtimeType, microsoftType, Checkout() })
        {
            Grouper.Group(unchanged).Fingerprint.Should().Be(Grouper.Group(unchanged, GroupingRules.V14).Fingerprint);
        }

        GroupingRules.V15.MayDifferFromPrevious(runtimeType).Should().BeFalse("the runtime's types are thrown everywhere: not a library's own");
        GroupingRules.V15.MayDifferFromPrevious(microsoftType).Should().BeFalse("Microsoft's one root holds many products");
        GroupingRules.V15.MayDifferFromPrevious(Checkout()).Should().BeFalse();
        var appsOwn = Event(Exception("Shop.Orders.OrderRejectedException", "The order was rejected.",
            InApp("Shop.Orders.OrderService", "Place"),
            InApp("Shop.Cart.CartService", "Checkout")));
        Grouper.Group(appsOwn).Fingerprint.Should().Be(Grouper.Group(appsOwn, GroupingRules.V14).Fingerprint);
        GroupingRules.V15.MayDifferFromPrevious(appsOwn).Should().BeFalse("an app's own exception thrown in its code has the app frame that keys it, and costs no second fingerprint");
    }

    private static IncomingEvent LockFailure(string resource, string what, string method) =>
        Event(Exception(Lock + "Exception", $"{what} on the resource '{resource}': Lock timeout.",
            Framework(Lock, method),
            Framework(Lock, method == "Dispose" ? "Dispose" : ".ctor"),
            Framework("Hangfire.PostgreSql.PostgreSqlConnection", "AcquireDistributedLock"),
            Framework("Hangfire.Server.RecurringJobScheduler", "Execute")));
}
