using ErrorHub.Ingestion.Decoding;
using ErrorHub.Ingestion.Grouping;
using ErrorHub.Storage.Events;
using FluentAssertions;
using Xunit;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// Exact fingerprints of grouping version 16 (version 17's for these events) and what its events carry as legacy fingerprints: on an event whose frames carry
/// no assembly (a text trace, a client that reads none), the frames of the library whose own exception it is are passed over for the app's frame
/// below them, and the library's throw site counts by its type. The frames are SSH.NET's abort of Connect as two applications reported it (one
/// through its extension class of SSH.NET's calls). Issues are keyed by these values: if one of these tests fails, a rule changed and existing
/// issues would silently split or merge (docs/grouping.md, "Changing the rules").
/// </summary>
public sealed class PinnedFingerprintV16Tests
{
    private const string Aborted = "Renci.SshNet.Common.SshConnectionException";

    [Fact]
    public void Grouping_version_16_follows_version_15()
    {
        GroupingRules.V16.Version.Should().Be(16);
        GroupingRules.V16.Previous.Should().BeSameAs(GroupingRules.V15);
    }

    [Fact]
    public void Two_applications_reaching_one_library_failure_in_a_text_trace_are_two_issues_and_carry_version_15s_fingerprint()
    {
        var configurator = Grouper.Group(Abort(
            Text("BTCPayServerDockerConfigurator.Models.SSHClientExtensions", "ConnectAsync"),
            Text("BTCPayServerDockerConfigurator.Controllers.ConfiguratorController", "TestSSH")));
        var uploader = Grouper.Group(Abort(Text("FtpEngine.ftp.Upload", "UploadFilestoSFTPUsingSSH")));

        Grouper.Counted(configurator.Components).Should().Equal(
            "type:" + Aborted, "throw:Session", "app:BTCPayServerDockerConfigurator.Controllers.ConfiguratorController.TestSSH");
        Grouper.Counted(uploader.Components).Should().Equal("type:" + Aborted, "throw:Session", "app:FtpEngine.ftp.Upload.UploadFilestoSFTPUsingSSH");
        configurator.Fingerprint.Should().Be("e66909017b7f2b1be4de3cea60ecea40");
        uploader.Fingerprint.Should().Be("9bf552d8696de441e77ae17f23f3478d");
        configurator.Culprit.Should().Be("BTCPayServerDockerConfigurator.Controllers.ConfiguratorController.TestSSH");

        var configuratorV15 = Grouper.Group(Abort(
            Text("BTCPayServerDockerConfigurator.Models.SSHClientExtensions", "ConnectAsync"),
            Text("BTCPayServerDockerConfigurator.Controllers.ConfiguratorController", "TestSSH")), GroupingRules.V15);
        Grouper.Counted(configuratorV15.Components).Should().Equal("type:" + Aborted, "app:Renci.SshNet.Session.WaitOnHandle");
        configuratorV15.Fingerprint.Should().Be("68023204126cd280b49a97761574b0e6", "version 15 keyed every application's abort by SSH.NET's method");
        configurator.LegacyFingerprint.Should().Be(configuratorV15.Fingerprint, "version 15's issue keeps receiving its events");
        uploader.LegacyFingerprint.Should().Be(configuratorV15.Fingerprint);
    }

    [Fact]
    public void An_event_whose_frames_carry_their_assembly_or_a_report_cut_above_the_apps_code_is_keyed_as_in_version_15()
    {
        // The .NET SDK sends every frame's assembly, and marks a NuGet package's frames (version 9 passes over them): there a frame of the
        // exception's root namespace without the mark is the app's own project, whose own code may span two root namespaces.
        var fromSdk = Event(Exception("Contoso.Billing.PaymentDeclinedException", "The card was declined.",
            WithAssembly("Contoso.Billing.PaymentService", "Charge", "Contoso.Billing"),
            WithAssembly("ContosoWeb.Controllers.CheckoutController", "Pay", "ContosoWeb")));
        var fromPackage = Abort(FromPackage("BTCPayServerDockerConfigurator.Controllers.ConfiguratorController", "TestSSH"));
        var cut = Abort();

        Grouper.Counted(Grouper.Group(fromSdk).Components).Should().Equal(
            "type:Contoso.Billing.PaymentDeclinedException", "app:Contoso.Billing.PaymentService.Charge");
        Grouper.Counted(Grouper.Group(cut).Components).Should().Equal("type:" + Aborted, "app:Renci.SshNet.Session.WaitOnHandle");
        foreach (var unchanged in new[] { fromSdk, fromPackage, cut })
        {
            Grouper.Group(unchanged).Fingerprint.Should().Be(Grouper.Group(unchanged, GroupingRules.V15).Fingerprint);
        }

        GroupingRules.V16.MayDifferFromPrevious(fromSdk).Should().BeFalse("an event with assemblies costs no second fingerprint");
        GroupingRules.V16.MayDifferFromPrevious(fromPackage).Should().BeFalse();
        var runtimeType = Event(Exception("System.TimeoutException", "Timed out trying to connect!",
            Text("FluentFTP.FtpSocketStream", "Connect"),
            Text("ShareX.UploadersLib.FileUploaders.FTP", "UploadData")));
        GroupingRules.V16.MayDifferFromPrevious(runtimeType).Should().BeFalse("the runtime's types are thrown by every library: no library's own");
        Grouper.Group(runtimeType).Fingerprint.Should().Be(Grouper.Group(runtimeType, GroupingRules.V15).Fingerprint);
    }

    [Fact]
    public void The_apps_own_exception_thrown_and_caught_in_its_one_root_namespace_keeps_its_frame()
    {
        var appsOwn = Event(Exception("Shop.Orders.OrderRejectedException", "The order was rejected.",
            Text("Shop.Orders.OrderService", "Place"),
            Text("Shop.Cart.CartService", "Checkout")));

        Grouper.Counted(Grouper.Group(appsOwn).Components).Should().Equal("type:Shop.Orders.OrderRejectedException", "app:Shop.Orders.OrderService.Place");
        Grouper.Group(appsOwn).Fingerprint.Should().Be(Grouper.Group(appsOwn, GroupingRules.V15).Fingerprint, "no frame of other code follows the exception's root namespace");
    }

    /// <summary>SSH.NET's abort of Connect as a text trace reads it, the app's frames below.</summary>
    private static IncomingEvent Abort(params FrameRecord[] appFrames) =>
        Event(Exception(Aborted, "An established connection was aborted by the server.",
        [
            Text("Renci.SshNet.Session", "WaitOnHandle"),
            Text("Renci.SshNet.Session", "Connect"),
            Text("Renci.SshNet.BaseClient", "Connect"),
            .. appFrames,
        ]));

    /// <summary>A frame as a text trace gives it: no assembly, in-app by its namespace (SSH.NET's too: nothing says it is a library).</summary>
    private static FrameRecord Text(string type, string function) => new(function, type, null, null, null, null, InApp: true);

    private static FrameRecord WithAssembly(string type, string function, string module) => new(function, type, module, null, null, null, InApp: true);

    private static FrameRecord FromPackage(string type, string function) => new(function, type, null, null, null, null, InApp: true, Package: true);

    private static ExceptionRecord Exception(string type, string value, FrameRecord[] frames) => new(type, value, null, frames);

    private static ExceptionRecord Exception(string type, string value, FrameRecord first, params FrameRecord[] rest) => new(type, value, null, [first, .. rest]);

    private static IncomingEvent Event(ExceptionRecord exception) => new() { EventId = Guid.NewGuid(), Exceptions = [exception] };
}
