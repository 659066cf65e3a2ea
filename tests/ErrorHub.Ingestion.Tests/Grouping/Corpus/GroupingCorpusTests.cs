using System.Globalization;
using System.Text;
using ErrorHub.Ingestion.Grouping;
using FluentAssertions;
using Xunit;
using Xunit.Abstractions;

namespace ErrorHub.Ingestion.Tests.Grouping.Corpus;

/// <summary>
/// Grouping scored on real traces from public issue trackers (README.md in this folder): the figures
/// are printed for every version, and the current one must stay at or above its floors, so a rule change
/// that makes grouping worse fails here.
/// </summary>
public sealed class GroupingCorpusTests(ITestOutputHelper output)
{
    /// <summary>
    /// Just under what version 16 reached on the whole corpus (version 17 reaches 0.816 and 0.964: the floors stay; 0.810 and 0.963 with held-out-22, a sample of one bug reported from runtimes in several languages and
    /// across an app's releases, and of look-alikes, when the floors were 0.813 and 0.963; 0.814 and 0.964 with held-out-21, a sample of ASP.NET Core apps' data, JSON, HTTP, DI and Blazor failures,
    /// most of its reports cut above the app's frames; 0.844 and 0.968 before it, when the floors were 0.843 and 0.967, raised with version 16); version 15 reached 0.8267 and 0.964 with held-out-20, a sample of FTP and MQTT clients' failures
    /// and one app's FTP uploader on two FTP clients, which version 15 groups worst of all samples, when the floors were 0.826 and 0.963; 0.8401 and 0.9669 with
    /// held-out-19, a sample of libraries' own exceptions thrown above the app's frames, when the floors were 0.840 and 0.966; 0.8475 and 0.9694 before it, when the floors were 0.847 and 0.969, where
    /// version 14 reaches 0.8455 and 0.9689 and would have needed lower floors), and versions 8 to 14 reached before (0.848 and 0.970 with held-out-17, 0.856 and 0.972 with held-out-16, 0.8663 and 0.975 with held-out-15, 0.869 and 0.975 with held-out-14, 0.879 and 0.976 with held-out-13, 0.8766 and 0.977 with held-out-12, 0.879 and 0.977 with held-out-11, 0.892 and 0.979 before it and 0.902 and 0.981 before held-out-10; version 7 0.893 and 0.980 with held-out-9, 0.918 and 0.984 before it and 0.921
    /// and 0.985 before held-out-8, where version 6 reaches 0.892 and 0.981 with held-out-7, 0.896 and 0.981 before it; version 5 reached
    /// 0.908 and 0.982 before held-out-6, version 4 0.901 and 0.981 before held-out-5, version 3 0.844 and 0.971 with held-out-4); raise
    /// them when grouping improves.
    /// The whole corpus scores lower than the rules' own traces alone (0.958): failures of two applications that no frame tells
    /// apart (the same WinForms paint failure in ShareX and in Greenshot, Avalonia's X11 regression in Avalonia's and in an app's
    /// tracker) share a fingerprint, and held-out-4 was collected where version 3 was weakest (docs/grouping.md).
    /// </summary>
    private const double PairwiseFloor = 0.809;
    private const double BCubedFloor = 0.962;

    /// <summary>
    /// Held-out sets collected to test given candidate rules rather than as a sample of what apps send: held-out-4 is weighted
    /// toward failures through libraries and frameless messages, the cases version 3 got wrong, so the goal of issue 7 (set for
    /// the team's hidden corpus) is not asserted on it; a version must still lose nothing on it (docs/grouping.md).
    /// </summary>
    private static readonly string[] TargetedSets = ["held-out-4"];

    /// <summary>
    /// Held-out sets collected as a sample on which the current version does not reach the goal of issue 7: held-out-7, held-out-9,
    /// held-out-10, held-out-11, held-out-12, held-out-14, held-out-16, held-out-17, held-out-18, held-out-19, held-out-20, held-out-21 and held-out-22, labelled before any rule change (docs/grouping.md; held-out-9 to held-out-12, held-out-14, held-out-17, held-out-18 and held-out-22 reach the B-cubed goal, not the pairwise one; held-out-16, held-out-19, held-out-20 and held-out-21 reach neither). A version must
    /// still lose nothing on them; the goal is asserted again once a version reaches it, as it is on held-out-5 since version 6 and on
    /// held-out-6 since version 7 (both judged with those sets: not unseen any more).
    /// </summary>
    private static readonly string[] SampleSetsBelowGoal = ["held-out-7", "held-out-9", "held-out-10", "held-out-11", "held-out-12", "held-out-14", "held-out-16", "held-out-17", "held-out-18", "held-out-19", "held-out-20", "held-out-21", "held-out-22"];

    /// <summary>
    /// The held-out sets collected as plain samples of public trackers and labelled before any rule saw them: the best estimate of the
    /// team's hidden corpus. Version 7 was judged on them pooled (docs/grouping.md, "Version 7"), so the pooled figures are printed and
    /// the current version must gain on them over the one before.
    /// </summary>
    private static readonly string[] PlainSamples = ["held-out-5", "held-out-6", "held-out-7"];

    /// <summary>Every plain sample, the fifteen collected after version 7 (held-out-8 to held-out-22) included: printed, not asserted.</summary>
    private static readonly string[] AllPlainSamples = [.. PlainSamples, "held-out-8", "held-out-9", "held-out-10", "held-out-11", "held-out-12", "held-out-13", "held-out-14", "held-out-15", "held-out-16", "held-out-17", "held-out-18", "held-out-19", "held-out-20", "held-out-21", "held-out-22"];

    /// <summary>The goal of issue 7, where the documented algorithms of Sentry and Exceptionless reach 0.71-0.76 and 0.83-0.86 on the team's hidden corpus.</summary>
    private const double PairwiseGoal = 0.85;
    private const double BCubedGoal = 0.92;

    [Fact]
    public void The_current_version_groups_the_corpus_as_labelled()
    {
        var traces = TraceCorpus.Traces;
        var labels = traces.Select(t => t.Cluster).ToList();
        var v1 = traces.Select(t => GroupingV1.Fingerprint(t.Event)).ToList();
        var v2 = traces.Select(t => Grouper.Group(t.Event, GroupingRules.V2).Fingerprint).ToList();
        var v3 = traces.Select(t => Grouper.Group(t.Event, GroupingRules.V3).Fingerprint).ToList();
        var v4 = traces.Select(t => Grouper.Group(t.Event, GroupingRules.V4).Fingerprint).ToList();
        var v5 = traces.Select(t => Grouper.Group(t.Event, GroupingRules.V5).Fingerprint).ToList();
        var v6 = traces.Select(t => Grouper.Group(t.Event, GroupingRules.V6).Fingerprint).ToList();
        var v7 = traces.Select(t => Grouper.Group(t.Event, GroupingRules.V7).Fingerprint).ToList();
        var v8 = traces.Select(t => Grouper.Group(t.Event, GroupingRules.V8).Fingerprint).ToList();
        var v9 = traces.Select(t => Grouper.Group(t.Event, GroupingRules.V9).Fingerprint).ToList();
        var v10 = traces.Select(t => Grouper.Group(t.Event, GroupingRules.V10).Fingerprint).ToList();
        var v11 = traces.Select(t => Grouper.Group(t.Event, GroupingRules.V11).Fingerprint).ToList();
        var v12 = traces.Select(t => Grouper.Group(t.Event, GroupingRules.V12).Fingerprint).ToList();
        var v13 = traces.Select(t => Grouper.Group(t.Event, GroupingRules.V13).Fingerprint).ToList();
        var v14 = traces.Select(t => Grouper.Group(t.Event, GroupingRules.V14).Fingerprint).ToList();
        var v15 = traces.Select(t => Grouper.Group(t.Event, GroupingRules.V15).Fingerprint).ToList();
        var v16 = traces.Select(t => Grouper.Group(t.Event, GroupingRules.V16).Fingerprint).ToList();
        var v17 = traces.Select(t => Grouper.Group(t.Event, GroupingRules.V17).Fingerprint).ToList();
        var scoreV1 = ClusteringScore.Of(labels, v1);
        var scoreV2 = ClusteringScore.Of(labels, v2);
        var scoreV3 = ClusteringScore.Of(labels, v3);
        var scoreV4 = ClusteringScore.Of(labels, v4);
        var scoreV5 = ClusteringScore.Of(labels, v5);
        var scoreV6 = ClusteringScore.Of(labels, v6);
        var scoreV7 = ClusteringScore.Of(labels, v7);
        var scoreV8 = ClusteringScore.Of(labels, v8);

        output.WriteLine($"corpus: {traces.Count} traces, {labels.Distinct().Count()} bugs");
        output.WriteLine(Line("version 1", scoreV1));
        output.WriteLine(Line("version 2", scoreV2));
        output.WriteLine(Line("version 3", scoreV3));
        output.WriteLine(Line("version 4", scoreV4));
        output.WriteLine(Line("version 5", scoreV5));
        output.WriteLine(Line("version 6", scoreV6));
        output.WriteLine(Line("version 7", scoreV7));
        output.WriteLine(Line("version 8", scoreV8));
        output.WriteLine(Line("version 9", ClusteringScore.Of(labels, v9)));
        output.WriteLine($"version 9 groups {Enumerable.Range(0, traces.Count).Count(i => v9[i] != v8[i])} traces otherwise than version 8");
        output.WriteLine(Line("version 10", ClusteringScore.Of(labels, v10)));
        output.WriteLine($"version 10 groups {Enumerable.Range(0, traces.Count).Count(i => v10[i] != v9[i])} traces otherwise than version 9");
        output.WriteLine(Line("version 11", ClusteringScore.Of(labels, v11)));
        output.WriteLine($"version 11 groups {Enumerable.Range(0, traces.Count).Count(i => v11[i] != v10[i])} traces otherwise than version 10");
        output.WriteLine(Line("version 12", ClusteringScore.Of(labels, v12)));
        output.WriteLine($"version 12 groups {Enumerable.Range(0, traces.Count).Count(i => v12[i] != v11[i])} traces otherwise than version 11");
        output.WriteLine($"version 13 groups {Enumerable.Range(0, traces.Count).Count(i => v13[i] != v12[i])} traces otherwise than version 12");
        output.WriteLine($"version 14 groups {Enumerable.Range(0, traces.Count).Count(i => v14[i] != v13[i])} traces otherwise than version 13");
        var scoreV15 = ClusteringScore.Of(labels, v15);
        output.WriteLine(Line("version 15", scoreV15));
        var scoreV16 = ClusteringScore.Of(labels, v16);
        output.WriteLine(Line("version 16", scoreV16));
        var scoreV17 = ClusteringScore.Of(labels, v17);
        output.WriteLine(Line("version 17", scoreV17));
        output.WriteLine(InlinedThrowSiteSplits(traces, v11));
        var pooled = Enumerable.Range(0, traces.Count).Where(i => PlainSamples.Contains(traces[i].Set)).ToList();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"plain samples pooled ({string.Join(", ", PlainSamples)}): {pooled.Count} traces, {pooled.Select(i => labels[i]).Distinct().Count()} bugs"));
        var pooledPrevious = ClusteringScore.Of(pooled.Select(i => labels[i]).ToList(), pooled.Select(i => v6[i]).ToList());
        var pooledCurrent = ClusteringScore.Of(pooled.Select(i => labels[i]).ToList(), pooled.Select(i => v7[i]).ToList());
        output.WriteLine(Line("    version 6", pooledPrevious));
        output.WriteLine(Line("    version 7", pooledCurrent));
        output.WriteLine(Line("    version 8", ClusteringScore.Of(pooled.Select(i => labels[i]).ToList(), pooled.Select(i => v8[i]).ToList())));
        var allPooled = Enumerable.Range(0, traces.Count).Where(i => AllPlainSamples.Contains(traces[i].Set)).ToList();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"all plain samples pooled ({string.Join(", ", AllPlainSamples)}): {allPooled.Count} traces, {allPooled.Select(i => labels[i]).Distinct().Count()} bugs"));
        output.WriteLine(Line("    version 6", ClusteringScore.Of(allPooled.Select(i => labels[i]).ToList(), allPooled.Select(i => v6[i]).ToList())));
        output.WriteLine(Line("    version 7", ClusteringScore.Of(allPooled.Select(i => labels[i]).ToList(), allPooled.Select(i => v7[i]).ToList())));
        output.WriteLine(Line("    version 8", ClusteringScore.Of(allPooled.Select(i => labels[i]).ToList(), allPooled.Select(i => v8[i]).ToList())));
        output.WriteLine(Line("    version 11", ClusteringScore.Of(allPooled.Select(i => labels[i]).ToList(), allPooled.Select(i => v11[i]).ToList())));
        output.WriteLine(Line("    version 12", ClusteringScore.Of(allPooled.Select(i => labels[i]).ToList(), allPooled.Select(i => v12[i]).ToList())));
        var allPooledV14 = ClusteringScore.Of(allPooled.Select(i => labels[i]).ToList(), allPooled.Select(i => v14[i]).ToList());
        var allPooledV15 = ClusteringScore.Of(allPooled.Select(i => labels[i]).ToList(), allPooled.Select(i => v15[i]).ToList());
        output.WriteLine(Line("    version 15", allPooledV15));
        var allPooledV16 = ClusteringScore.Of(allPooled.Select(i => labels[i]).ToList(), allPooled.Select(i => v16[i]).ToList());
        output.WriteLine(Line("    version 16", allPooledV16));
        var allPooledV17 = ClusteringScore.Of(allPooled.Select(i => labels[i]).ToList(), allPooled.Select(i => v17[i]).ToList());
        output.WriteLine(Line("    version 17", allPooledV17));
        var versionTwelve = new List<(string Set, ClusteringScore Previous, ClusteringScore Current)>();
        var versionFifteen = new List<(string Set, ClusteringScore Previous, ClusteringScore Current)>();
        var versionSixteen = new List<(string Set, ClusteringScore Previous, ClusteringScore Current)>();
        var versionSeventeen = new List<(string Set, ClusteringScore Previous, ClusteringScore Current)>();
        var heldOut = new List<(string Set, ClusteringScore Previous, ClusteringScore Current)>();
        foreach (var set in traces.Select(t => t.Set).Distinct().OrderBy(s => s, StringComparer.Ordinal))
        {
            // A set collected after the rules were written shows how they do on traces they were not tuned on.
            var members = Enumerable.Range(0, traces.Count).Where(i => traces[i].Set == set).ToList();
            var setLabels = members.Select(i => labels[i]).ToList();
            var previous = ClusteringScore.Of(setLabels, members.Select(i => v7[i]).ToList());
            var current = ClusteringScore.Of(setLabels, members.Select(i => v8[i]).ToList());
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"set {(set.Length == 0 ? "(the rules' own)" : set)}: {members.Count} traces, {setLabels.Distinct().Count()} bugs"));
            output.WriteLine(Line("    version 1", ClusteringScore.Of(setLabels, members.Select(i => v1[i]).ToList())));
            output.WriteLine(Line("    version 2", ClusteringScore.Of(setLabels, members.Select(i => v2[i]).ToList())));
            output.WriteLine(Line("    version 3", ClusteringScore.Of(setLabels, members.Select(i => v3[i]).ToList())));
            output.WriteLine(Line("    version 4", ClusteringScore.Of(setLabels, members.Select(i => v4[i]).ToList())));
            output.WriteLine(Line("    version 5", ClusteringScore.Of(setLabels, members.Select(i => v5[i]).ToList())));
            output.WriteLine(Line("    version 6", ClusteringScore.Of(setLabels, members.Select(i => v6[i]).ToList())));
            output.WriteLine(Line("    version 7", previous));
            output.WriteLine(Line("    version 8", current));
            var beforeTwelve = ClusteringScore.Of(setLabels, members.Select(i => v11[i]).ToList());
            var twelve = ClusteringScore.Of(setLabels, members.Select(i => v12[i]).ToList());
            output.WriteLine(Line("    version 11", beforeTwelve));
            output.WriteLine(Line("    version 12", twelve));
            versionTwelve.Add((set.Length == 0 ? "(the rules' own)" : set, beforeTwelve, twelve));
            var fourteen = ClusteringScore.Of(setLabels, members.Select(i => v14[i]).ToList());
            var fifteen = ClusteringScore.Of(setLabels, members.Select(i => v15[i]).ToList());
            output.WriteLine(Line("    version 14", fourteen));
            output.WriteLine(Line("    version 15", fifteen));
            versionFifteen.Add((set.Length == 0 ? "(the rules' own)" : set, fourteen, fifteen));
            var sixteen = ClusteringScore.Of(setLabels, members.Select(i => v16[i]).ToList());
            output.WriteLine(Line("    version 16", sixteen));
            versionSixteen.Add((set.Length == 0 ? "(the rules' own)" : set, fifteen, sixteen));
            var seventeen = ClusteringScore.Of(setLabels, members.Select(i => v17[i]).ToList());
            output.WriteLine(Line("    version 17", seventeen));
            versionSeventeen.Add((set.Length == 0 ? "(the rules' own)" : set, sixteen, seventeen));
            if (set.Length > 0)
            {
                heldOut.Add((set, previous, current));
            }
        }

        output.WriteLine(Mistakes(traces, v17));
        output.WriteLine(Changes(traces, v7, v8, GroupingRules.V7, GroupingRules.V8));
        output.WriteLine(Changes(traces, v11, v12, GroupingRules.V11, GroupingRules.V12));
        output.WriteLine(Changes(traces, v14, v15, GroupingRules.V14, GroupingRules.V15));
        output.WriteLine(Changes(traces, v15, v16, GroupingRules.V15, GroupingRules.V16));
        output.WriteLine(Changes(traces, v16, v17, GroupingRules.V16, GroupingRules.V17));

        // The corpus's traces are text: no report says which assembly came from a NuGet package, so version 9 reads them as version 8.
        v9.Should().Equal(v8, "version 9 reads only the package fact an SDK sends, which no trace of the corpus carries");
        v10.Should().Equal(v9, "version 10 reads only a request's route tag, which no trace of the corpus carries");
        v11.Should().Equal(v10, "version 11 reads only a request's handler tag, which no trace of the corpus carries");
        v13.Should().Equal(v12, "version 13 reads only a request's route tag, which no trace of the corpus carries");
        v14.Should().Equal(v13, "version 14 reads only a request's route and handler tags, which no trace of the corpus carries");
        versionFifteen.Should().AllSatisfy(s =>
        {
            s.Current.PairwiseF1.Should().BeGreaterThanOrEqualTo(s.Previous.PairwiseF1, $"version 15 loses nothing on any set ({s.Set})");
            s.Current.BCubedF1.Should().BeGreaterThanOrEqualTo(s.Previous.BCubedF1, $"version 15 loses nothing on any set ({s.Set})");
        });
        allPooledV15.PairwiseF1.Should().BeGreaterThan(allPooledV14.PairwiseF1, "version 15 was accepted for its gain on every plain sample pooled");
        allPooledV15.BCubedF1.Should().BeGreaterThanOrEqualTo(allPooledV14.BCubedF1, "version 15 was accepted for its gain on every plain sample pooled");
        versionSixteen.Should().AllSatisfy(s =>
        {
            s.Current.PairwiseF1.Should().BeGreaterThanOrEqualTo(s.Previous.PairwiseF1, $"version 16 loses nothing on any set ({s.Set})");
            s.Current.BCubedF1.Should().BeGreaterThanOrEqualTo(s.Previous.BCubedF1, $"version 16 loses nothing on any set ({s.Set})");
        });
        allPooledV16.PairwiseF1.Should().BeGreaterThan(allPooledV15.PairwiseF1, "version 16 was accepted for its gain on every plain sample pooled");
        allPooledV16.BCubedF1.Should().BeGreaterThan(allPooledV15.BCubedF1, "version 16 was accepted for its gain on every plain sample pooled");
        versionSeventeen.Should().AllSatisfy(s =>
        {
            s.Current.PairwiseF1.Should().BeGreaterThanOrEqualTo(s.Previous.PairwiseF1, $"version 17 loses nothing on any set ({s.Set})");
            s.Current.BCubedF1.Should().BeGreaterThanOrEqualTo(s.Previous.BCubedF1, $"version 17 loses nothing on any set ({s.Set})");
        });
        allPooledV17.PairwiseF1.Should().BeGreaterThan(allPooledV16.PairwiseF1, "version 17 was accepted for its gain on every plain sample pooled");
        allPooledV17.BCubedF1.Should().BeGreaterThan(allPooledV16.BCubedF1, "version 17 was accepted for its gain on every plain sample pooled");
        versionTwelve.Should().AllSatisfy(s =>
        {
            s.Current.PairwiseF1.Should().BeGreaterThanOrEqualTo(s.Previous.PairwiseF1, $"version 12 loses nothing on any set ({s.Set})");
            s.Current.BCubedF1.Should().BeGreaterThanOrEqualTo(s.Previous.BCubedF1, $"version 12 loses nothing on any set ({s.Set})");
        });
        traces.Should().HaveCountGreaterThanOrEqualTo(150);
        labels.Distinct().Should().HaveCountGreaterThanOrEqualTo(50);
        // The whole corpus fell below the pairwise goal with held-out-17 (0.848; 0.840 with held-out-19, 0.827 with held-out-20, 0.844 with version 16, 0.814 with held-out-21, 0.810 with held-out-22): its floor is asserted, the goal on the sets that reach it.
        scoreV17.PairwiseF1.Should().BeGreaterThanOrEqualTo(PairwiseFloor);
        scoreV17.BCubedF1.Should().BeGreaterThanOrEqualTo(BCubedGoal).And.BeGreaterThanOrEqualTo(BCubedFloor);
        scoreV17.PairwiseF1.Should().BeGreaterThan(scoreV16.PairwiseF1, "version 17 exists to group better than version 16");
        scoreV16.PairwiseF1.Should().BeGreaterThan(scoreV15.PairwiseF1, "version 16 exists to group better than version 15");
        scoreV2.PairwiseF1.Should().BeGreaterThan(scoreV1.PairwiseF1, "version 2 exists to group better than version 1");
        scoreV3.PairwiseF1.Should().BeGreaterThan(scoreV2.PairwiseF1, "version 3 exists to group better than version 2");
        scoreV3.BCubedF1.Should().BeGreaterThan(scoreV2.BCubedF1, "version 3 exists to group better than version 2");
        scoreV4.PairwiseF1.Should().BeGreaterThan(scoreV3.PairwiseF1, "version 4 exists to group better than version 3");
        scoreV4.BCubedF1.Should().BeGreaterThan(scoreV3.BCubedF1, "version 4 exists to group better than version 3");
        scoreV5.PairwiseF1.Should().BeGreaterThan(scoreV4.PairwiseF1, "version 5 exists to group better than version 4");
        scoreV5.BCubedF1.Should().BeGreaterThan(scoreV4.BCubedF1, "version 5 exists to group better than version 4");
        scoreV6.PairwiseF1.Should().BeGreaterThan(scoreV5.PairwiseF1, "version 6 exists to group better than version 5");
        scoreV6.BCubedF1.Should().BeGreaterThan(scoreV5.BCubedF1, "version 6 exists to group better than version 5");
        scoreV7.PairwiseF1.Should().BeGreaterThan(scoreV6.PairwiseF1, "version 7 exists to group better than version 6");
        scoreV7.BCubedF1.Should().BeGreaterThan(scoreV6.BCubedF1, "version 7 exists to group better than version 6");
        scoreV8.PairwiseF1.Should().BeGreaterThan(scoreV7.PairwiseF1, "version 8 exists to group better than version 7");
        scoreV8.BCubedF1.Should().BeGreaterThan(scoreV7.BCubedF1, "version 8 exists to group better than version 7");
        pooledCurrent.PairwiseF1.Should().BeGreaterThan(pooledPrevious.PairwiseF1, "version 7 was accepted for its gain on the plain samples pooled");
        pooledCurrent.BCubedF1.Should().BeGreaterThan(pooledPrevious.BCubedF1, "version 7 was accepted for its gain on the plain samples pooled");
        heldOut.Should().AllSatisfy(s =>
        {
            s.Current.PairwiseF1.Should().BeGreaterThanOrEqualTo(s.Previous.PairwiseF1, $"a version loses nothing on a held-out set ({s.Set})");
            s.Current.BCubedF1.Should().BeGreaterThanOrEqualTo(s.Previous.BCubedF1, $"a version loses nothing on a held-out set ({s.Set})");
            if (!TargetedSets.Contains(s.Set) && !SampleSetsBelowGoal.Contains(s.Set))
            {
                s.Current.PairwiseF1.Should().BeGreaterThanOrEqualTo(PairwiseGoal, $"the rules reach the goal on traces they were not tuned on ({s.Set})");
                s.Current.BCubedF1.Should().BeGreaterThanOrEqualTo(BCubedGoal, $"the rules reach the goal on traces they were not tuned on ({s.Set})");
            }
        });
    }

    [Fact]
    public void Every_trace_a_version_groups_otherwise_carries_the_older_versions_fingerprints_newest_first()
    {
        // The store files an event under the first of its legacy fingerprints that is an issue already: this is what keeps older versions' issues whole.
        foreach (var trace in TraceCorpus.Traces)
        {
            var current = Grouper.Group(trace.Event);
            var expected = new List<string>();
            foreach (var older in new[] { GroupingRules.V16, GroupingRules.V15, GroupingRules.V14, GroupingRules.V13, GroupingRules.V12, GroupingRules.V11, GroupingRules.V10, GroupingRules.V9, GroupingRules.V8, GroupingRules.V7, GroupingRules.V6, GroupingRules.V5, GroupingRules.V4, GroupingRules.V3, GroupingRules.V2 })
            {
                var fingerprint = Grouper.Group(trace.Event, older).Fingerprint;
                if (fingerprint != current.Fingerprint && !expected.Contains(fingerprint))
                {
                    expected.Add(fingerprint);
                }
            }

            var versionOne = GroupingV1.Fingerprint(trace.Event);
            if (expected.Count == 0 || (versionOne != current.Fingerprint && !expected.Contains(versionOne)))
            {
                expected.Add(versionOne);
            }

            current.LegacyFingerprint.Should().Be(expected[0], trace.File);
            (current.EarlierLegacyFingerprints ?? []).Should().Equal(expected.Skip(1), trace.File);
        }
    }

    private static string Line(string name, ClusteringScore s) => string.Create(CultureInfo.InvariantCulture,
        $"{name}: pairwise F1 {s.PairwiseF1:0.000} (P {s.PairwisePrecision:0.000}, R {s.PairwiseRecall:0.000}), B-cubed F1 {s.BCubedF1:0.000} (P {s.BCubedPrecision:0.000}, R {s.BCubedRecall:0.000})");

    /// <summary>Bugs split over several fingerprints, and fingerprints shared by several bugs: where to look when a figure drops.</summary>
    /// <summary>
    /// How many pairs of one bug's traces <paramref name="fingerprints"/> split by the throw site alone (their counted components differ only in
    /// the <c>throw</c> component) where one trace's throw-site frame is missing from the other's stack: the kind of split inlining makes
    /// (docs/grouping.md, "Version 12"). A trace is one process's report, so the corpus shows it only across reports.
    /// </summary>
    private static string InlinedThrowSiteSplits(IReadOnlyList<LabelledTrace> traces, IReadOnlyList<string> fingerprints)
    {
        var split = 0;
        var byThrowSite = 0;
        var frameMissing = 0;
        for (var a = 0; a < traces.Count; a++)
        {
            for (var b = a + 1; b < traces.Count; b++)
            {
                if (traces[a].Cluster != traces[b].Cluster || fingerprints[a] == fingerprints[b])
                {
                    continue;
                }

                split++;
                var first = Grouper.Counted(Grouper.Group(traces[a].Event, GroupingRules.V11).Components);
                var second = Grouper.Counted(Grouper.Group(traces[b].Event, GroupingRules.V11).Components);
                if (!first.Where(c => !c.StartsWith("throw:", StringComparison.Ordinal)).SequenceEqual(second.Where(c => !c.StartsWith("throw:", StringComparison.Ordinal))))
                {
                    continue;
                }

                byThrowSite++;
                var framesA = traces[a].Event.Exceptions.SelectMany(e => e.Frames).Select(f => Grouper.ShortTypeName(f.Type ?? "")).ToHashSet(StringComparer.Ordinal);
                var framesB = traces[b].Event.Exceptions.SelectMany(e => e.Frames).Select(f => Grouper.ShortTypeName(f.Type ?? "")).ToHashSet(StringComparer.Ordinal);
                var sitesA = first.Where(c => c.StartsWith("throw:", StringComparison.Ordinal)).Select(c => c["throw:".Length..]);
                var sitesB = second.Where(c => c.StartsWith("throw:", StringComparison.Ordinal)).Select(c => c["throw:".Length..]);
                if (sitesA.Any(site => !framesB.Contains(site)) || sitesB.Any(site => !framesA.Contains(site)))
                {
                    frameMissing++;
                }
            }
        }

        return $"version 11 split pairs: {split}; by the throw site alone: {byThrowSite}; of them with one throw site's frame missing from the other's stack: {frameMissing}";
    }

    private static string Mistakes(IReadOnlyList<LabelledTrace> traces, IReadOnlyList<string> fingerprints)
    {
        var text = new StringBuilder();
        foreach (var bug in traces.Select((t, i) => (t, fp: fingerprints[i])).GroupBy(x => x.t.Cluster).Where(g => g.Select(x => x.fp).Distinct().Count() > 1))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"split {bug.Key}:");
            foreach (var (trace, fp) in bug)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"    {fp[..8]} {trace.File}: {Describe(trace)}");
            }
        }

        foreach (var group in traces.Select((t, i) => (t, fp: fingerprints[i])).GroupBy(x => x.fp).Where(g => g.Select(x => x.t.Cluster).Distinct().Count() > 1))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"merged {group.Key[..8]}: {Describe(group.First().t)}");
            foreach (var (trace, _) in group)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"    {trace.Cluster}: {trace.File}");
            }
        }

        return text.ToString();
    }

    /// <summary>The traces a version groups otherwise than the one before it, with both versions' components: what a rule change did.</summary>
    private static string Changes(IReadOnlyList<LabelledTrace> traces, IReadOnlyList<string> before, IReadOnlyList<string> after, GroupingRules previous, GroupingRules next)
    {
        var text = new StringBuilder();
        var changed = Enumerable.Range(0, traces.Count).Where(i => before[i] != after[i]).ToList();
        text.AppendLine(CultureInfo.InvariantCulture, $"version {next.Version} groups {changed.Count} of {traces.Count} traces otherwise than version {previous.Version}:");
        foreach (var i in changed)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    {traces[i].File} ({(traces[i].Set.Length == 0 ? "the rules' own" : traces[i].Set)})");
            text.AppendLine(CultureInfo.InvariantCulture, $"        {previous.Version}: {string.Join(" | ", Grouper.Counted(Grouper.Components(traces[i].Event, previous)))}");
            text.AppendLine(CultureInfo.InvariantCulture, $"        {next.Version}: {string.Join(" | ", Grouper.Counted(Grouper.Components(traces[i].Event, next)))}");
        }

        return text.ToString();
    }

    private static string Describe(LabelledTrace trace) =>
        string.Join(" | ", Grouper.Counted(Grouper.Components(trace.Event, GroupingRules.Current)));
}
