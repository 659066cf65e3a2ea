using System.Globalization;
using ErrorHub.Storage.Events;

namespace ErrorHub.Dashboard.Formatting;

internal static class FrameText
{
    /// <summary><c>Namespace.Type.Method</c>, or the function alone when the type is unknown.</summary>
    public static string Function(FrameRecord frame) =>
        string.IsNullOrEmpty(frame.Type) ? frame.Function : frame.Type + "." + frame.Function;

    /// <summary><c>file:line[:column]</c>, or null when the frame has no file (no symbols shipped).</summary>
    public static string? Location(FrameRecord frame)
    {
        if (string.IsNullOrEmpty(frame.File))
        {
            return null;
        }

        return (frame.Line, frame.Column) switch
        {
            ({ } line, { } column) => string.Create(CultureInfo.InvariantCulture, $"{frame.File}:{line}:{column}"),
            ({ } line, null) => string.Create(CultureInfo.InvariantCulture, $"{frame.File}:{line}"),
            _ => frame.File,
        };
    }
}

/// <summary>A stretch of consecutive frames shown together: app frames open, framework frames folded.</summary>
internal sealed record FrameRun(bool Folded, IReadOnlyList<FrameRecord> Frames)
{
    public static IReadOnlyList<FrameRun> Split(IReadOnlyList<FrameRecord> frames)
    {
        // With no app frame at all there is nothing to make stand out: fold nothing.
        if (!frames.Any(frame => frame.InApp))
        {
            return [new FrameRun(false, frames)];
        }

        var runs = new List<FrameRun>();
        var current = new List<FrameRecord>();
        var currentInApp = frames[0].InApp;
        foreach (var frame in frames)
        {
            if (frame.InApp != currentInApp)
            {
                runs.Add(new FrameRun(!currentInApp, current));
                current = [];
                currentInApp = frame.InApp;
            }

            current.Add(frame);
        }

        runs.Add(new FrameRun(!currentInApp, current));
        return runs;
    }
}
