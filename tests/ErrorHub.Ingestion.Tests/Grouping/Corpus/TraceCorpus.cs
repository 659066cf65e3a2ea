using ErrorHub.Testing.Processes;

namespace ErrorHub.Ingestion.Tests.Grouping.Corpus;

/// <summary>
/// The labelled corpus of real .NET stack traces (this folder's README.md): <c>traces/*.txt</c>, one
/// exception each as <c>ToString()</c> prints it, and <c>labels.tsv</c>, which puts each trace in the
/// cluster of its bug.
/// </summary>
internal static class TraceCorpus
{
    public static string Folder { get; } = Path.Combine(RepositoryPaths.Root, "tests", "ErrorHub.Ingestion.Tests", "Grouping", "Corpus");

    private static readonly Lazy<IReadOnlyList<LabelledTrace>> LazyTraces = new(Load);

    public static IReadOnlyList<LabelledTrace> Traces => LazyTraces.Value;

    private static List<LabelledTrace> Load()
    {
        var traces = new List<LabelledTrace>();
        foreach (var line in File.ReadLines(Path.Combine(Folder, "labels.tsv")))
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var fields = line.Split('\t');
            if (fields.Length < 3)
            {
                throw new FormatException($"labels.tsv: expected trace, cluster, origin and a note in: {line}");
            }

            var text = File.ReadAllText(Path.Combine(Folder, "traces", fields[0]));
            traces.Add(new LabelledTrace(fields[0], fields[1], fields[2], fields.Length > 3 ? fields[3] : "", text, fields.Length > 4 ? fields[4] : ""));
        }

        return traces;
    }
}

/// <param name="Origin">The public report it was read from, or "variant of FILE: what changed" for a variant made from one.</param>
/// <param name="Set">Empty for the traces the rules were written with; else the name of a set collected later, scored on its own as well.</param>
internal sealed record LabelledTrace(string File, string Cluster, string Origin, string Note, string Text, string Set = "")
{
    public IncomingEvent Event => DotNetTraceParser.Parse(Text);
}
