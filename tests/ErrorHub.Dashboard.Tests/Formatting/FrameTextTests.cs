using ErrorHub.Dashboard.Formatting;
using ErrorHub.Storage.Events;

namespace ErrorHub.Dashboard.Tests.Formatting;

public sealed class FrameTextTests
{
    private static FrameRecord Frame(string function, string? type = "Shop.Checkout", string? file = null, int? line = null, int? column = null, bool inApp = true) =>
        new(function, type, "Shop", file, line, column, inApp);

    [Fact]
    public void The_function_reads_as_type_dot_method()
    {
        FrameText.Function(Frame("PlaceOrder")).Should().Be("Shop.Checkout.PlaceOrder");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Without_a_type_the_function_stands_alone(string? type)
    {
        FrameText.Function(Frame("<Main>$", type)).Should().Be("<Main>$");
    }

    [Fact]
    public void The_location_is_file_line_and_column_as_far_as_known()
    {
        FrameText.Location(Frame("F", file: "src/Checkout.cs", line: 12345, column: 17)).Should().Be("src/Checkout.cs:12345:17");
        FrameText.Location(Frame("F", file: "src/Checkout.cs", line: 42)).Should().Be("src/Checkout.cs:42");
        FrameText.Location(Frame("F", file: "src/Checkout.cs")).Should().Be("src/Checkout.cs");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void A_frame_without_a_file_has_no_location_even_with_a_line(string? file)
    {
        FrameText.Location(Frame("F", file: file, line: 42, column: 1)).Should().BeNull();
    }
}

public sealed class FrameRunTests
{
    private static FrameRecord App(string name) => new(name, "Shop.App", "Shop", "src/App.cs", 1, 1, InApp: true);

    private static FrameRecord Framework(string name) => new(name, "System.Framework", "System.Private.CoreLib", null, null, null, InApp: false);

    [Fact]
    public void App_frames_stay_open_and_each_stretch_of_framework_frames_is_folded()
    {
        var frames = new[] { Framework("f1"), App("a1"), App("a2"), Framework("f2"), Framework("f3"), App("a3"), Framework("f4") };

        var runs = FrameRun.Split(frames);

        runs.Select(run => (run.Folded, Names: string.Join(",", run.Frames.Select(frame => frame.Function)))).Should().Equal(
            (true, "f1"),
            (false, "a1,a2"),
            (true, "f2,f3"),
            (false, "a3"),
            (true, "f4"));
    }

    [Fact]
    public void With_no_app_frame_nothing_is_folded_so_the_trace_is_not_hidden_entirely()
    {
        var frames = new[] { Framework("f1"), Framework("f2") };

        var runs = FrameRun.Split(frames);

        runs.Should().ContainSingle().Which.Folded.Should().BeFalse();
        runs[0].Frames.Should().Equal(frames);
    }

    [Fact]
    public void Only_app_frames_make_one_open_run()
    {
        var frames = new[] { App("a1"), App("a2") };

        var run = FrameRun.Split(frames).Should().ContainSingle().Subject;

        run.Folded.Should().BeFalse();
        run.Frames.Should().Equal(frames);
    }
}
