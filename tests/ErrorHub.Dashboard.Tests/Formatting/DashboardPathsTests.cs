using ErrorHub.Dashboard.Formatting;

namespace ErrorHub.Dashboard.Tests.Formatting;

public sealed class DashboardPathsTests
{
    [Fact]
    public void Links_are_relative_to_the_document_base_so_a_path_base_keeps_working()
    {
        DashboardPaths.Issues(7).Should().Be("projects/7/issues");
        DashboardPaths.Issue(7, "0123456789abcdef0123456789abcdef").Should().Be("projects/7/issues/0123456789abcdef0123456789abcdef");
    }

    [Fact]
    public void An_event_link_names_the_event_by_its_32_hex_digits()
    {
        var eventId = Guid.Parse("5f0c2a4e-1b7d-4c39-9a61-0e2f8b3d7c15");

        DashboardPaths.Event(7, "abc", eventId).Should().Be("projects/7/issues/abc?event=5f0c2a4e1b7d4c399a610e2f8b3d7c15");
    }

    [Theory]
    [InlineData("a/b", "a%2Fb")]
    [InlineData("x?event=1#top", "x%3Fevent%3D1%23top")]
    [InlineData("../../admin", "..%2F..%2Fadmin")]
    [InlineData("sp ace&amp", "sp%20ace%26amp")]
    public void A_fingerprint_stays_one_path_segment_whatever_it_contains(string fingerprint, string escaped)
    {
        DashboardPaths.Issue(1, fingerprint).Should().Be("projects/1/issues/" + escaped);
        DashboardPaths.Event(1, fingerprint, Guid.Empty).Should().Be($"projects/1/issues/{escaped}?event=00000000000000000000000000000000");
    }
}
