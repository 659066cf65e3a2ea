using ErrorHub.Ingestion.Grouping;
using ErrorHub.Testing.Processes;
using FluentAssertions;
using Xunit;
using Xunit.Abstractions;

namespace ErrorHub.Ingestion.Tests.Grouping;

/// <summary>
/// A real app (tests/ErrorHub.RealApps.JitInlining) fails in fifteen ways an app meets in the framework and reports each with the SDK,
/// run under JIT settings that inline differently: whatever the JIT inlined, one failure is one issue, and different failures are
/// different issues (docs/grouping.md, "Version 12"). Version 11 keyed a framework throw site by its frame's declaring type, which
/// changes when the JIT inlines a small framework method into a caller of another type: one crash became two issues.
/// </summary>
public sealed class JitInliningTests(JitInliningTests.Runs runs, ITestOutputHelper output) : IClassFixture<JitInliningTests.Runs>
{
    [Fact]
    public void The_jit_settings_change_the_frames_a_failure_reports()
    {
        // The measurement means something only if the frames differ: FeatureReferences.Fetch is its own frame without inlining and
        // inlined into DefaultHttpResponse.get_HasStarted with tiering off (fully optimized from the first call).
        Frames(runs.Event("no-inlining", "http-context-after-response")).Should().Contain(f => f.EndsWith("FeatureReferences.Fetch", StringComparison.Ordinal));
        Frames(runs.Event("tiering-off", "http-context-after-response")).Should().NotContain(f => f.EndsWith("FeatureReferences.Fetch", StringComparison.Ordinal));

        var differing = runs.Failures.Where(failure => runs.Variants.Select(v => string.Join('\n', Frames(runs.Event(v, failure)))).Distinct().Count() > 1).ToList();
        output.WriteLine($"failures whose frames differ across the settings: {differing.Count} of {runs.Failures.Count}: {string.Join(", ", differing)}");
        differing.Count.Should().BeGreaterThan(3);
    }

    [Fact]
    public void Version_11_split_failures_whose_throw_site_was_inlined_reported()
    {
        var split = Report(GroupingRules.V11);

        // Reported, not pass/fail: version 11 is what was measured; the HttpContext failure found on a real app is among them.
        split.Should().Contain("http-context-after-response");
    }

    /// <summary>
    /// Failures version 12 does not make one issue, and why (docs/grouping.md, "Version 12", "Measured on the real runtime"): the runtime's own throw
    /// helper is hidden from stack traces, so with <c>CancellationTokenSource.get_Token</c> inlined into the app's method no frame of the
    /// framework is left; the app's own one-line property getter (<c>ShopDb.get_Orders</c>) is inlined into its caller, which moves the app
    /// frame; and a refused connection's <c>SocketException</c> is thrown by the socket's awaitable or made by <c>HttpConnectionPool</c>,
    /// depending on whether the connect completed synchronously: that varies between runs of one setting, not with the JIT; and a lambda that
    /// only returns a dictionary's indexer (<c>Task.Run(() =&gt; Stock[key])</c>) may call it as a tail call once it runs optimized, which
    /// removes the lambda's own frame (the app frame becomes the awaiting method): whether it runs optimized by then varies between runs.
    /// </summary>
    private static readonly string[] Uncovered = ["disposed-cancellation-source", "disposed-db-context", "http-client-refused", "task-when-all"];

    [Fact]
    public void The_current_version_groups_each_failure_as_one_issue_whatever_the_jit_inlined_where_a_frame_says_what_threw()
    {
        var split = Report(GroupingRules.Current);

        split.Should().NotContain("http-context-after-response", "the defect found on a real app: one crash, one issue");
        split.Except(Uncovered).Should().BeEmpty("one failure is one issue under every JIT setting where the framework's throw helper is left");
        split.Should().BeSubsetOf(Report(GroupingRules.V11), "version 12 splits nothing version 11 kept together");
    }

    [Fact]
    public void Different_failures_are_different_issues_under_every_setting_the_issues_look_alikes_included()
    {
        foreach (var variant in runs.Variants)
        {
            var fingerprints = runs.Failures.Select(failure => Grouper.Group(runs.Event(variant, failure)).Fingerprint).ToList();
            fingerprints.Should().OnlyHaveUniqueItems($"{variant}: fifteen failures, fifteen issues");
        }
    }

    /// <summary>Prints each failure's fingerprints across the settings under <paramref name="rules"/>; returns the failures that got more than one.</summary>
    private List<string> Report(GroupingRules rules)
    {
        var split = new List<string>();
        foreach (var failure in runs.Failures)
        {
            var byVariant = runs.Variants.ToDictionary(v => v, v => Grouper.Group(runs.Event(v, failure), rules));
            var distinct = byVariant.Values.Select(g => g.Fingerprint).Distinct().Count();
            if (distinct > 1)
            {
                split.Add(failure);
            }

            output.WriteLine($"version {rules.Version} {failure}: {distinct} issue(s)");
            foreach (var (variant, grouping) in byVariant)
            {
                output.WriteLine($"    {variant,-14} {string.Join(", ", Grouper.Counted(grouping.Components))}");
                if (distinct > 1)
                {
                    // What the JIT left: the frames from the throw to the app's code.
                    foreach (var exception in runs.Event(variant, failure).Exceptions)
                    {
                        var frames = exception.Frames.Select(f => $"{f.Type}.{f.Function}").TakeWhile(f => !f.StartsWith("Program", StringComparison.Ordinal));
                        output.WriteLine($"        {exception.Type}: {string.Join(" < ", frames)}");
                    }
                }
            }
        }

        output.WriteLine($"version {rules.Version}: {split.Count} of {runs.Failures.Count} failures split: {string.Join(", ", split)}");
        return split;
    }

    private static List<string> Frames(IncomingEvent incoming) =>
        incoming.Exceptions.SelectMany(e => e.Frames).Select(f => $"{f.Type}.{f.Function}").ToList();

    /// <summary>The app run once per setting, its events decoded as ingest decodes them.</summary>
    public sealed class Runs : IAsyncLifetime
    {
        private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);

        /// <summary>The environment of each run: what the JIT may inline, and when.</summary>
        private static readonly (string Name, Dictionary<string, string?> Environment)[] Settings =
        [
            // Fully optimized from the first call, the framework's ReadyToRun code not used: inlining everywhere.
            ("tiering-off", new() { ["DOTNET_TieredCompilation"] = "0", ["DOTNET_ReadyToRun"] = "0" }),
            // Nothing inlined anywhere: every method its own frame (a Debug-like stack).
            ("no-inlining", new() { ["DOTNET_JitNoInline"] = "1", ["DOTNET_ReadyToRun"] = "0" }),
            // The runtime's defaults: the first call runs ReadyToRun or tier-0 code, the warm one tier-1 code.
            ("defaults", new()),
        ];

        private readonly Dictionary<(string Variant, string Failure), IncomingEvent> _events = [];

        public List<string> Variants { get; } = [];

        public List<string> Failures { get; } = [];

        internal IncomingEvent Event(string variant, string failure) => _events[(variant, failure)];

        public async Task InitializeAsync()
        {
            var app = RepositoryPaths.BuiltAssembly("tests/ErrorHub.RealApps.JitInlining");
            foreach (var (name, environment) in Settings)
            {
                await using var ingest = await RecordingIngest.StartAsync();
                var inherited = new Dictionary<string, string?>
                {
                    ["ErrorHub__Dsn"] = ingest.Dsn(),
                    ["DOTNET_TieredCompilation"] = null,
                    ["DOTNET_TieredPGO"] = null,
                    ["DOTNET_ReadyToRun"] = null,
                    ["DOTNET_JitNoInline"] = null,
                    ["DOTNET_TC_QuickJitForLoops"] = null,
                };
                foreach (var (key, value) in environment)
                {
                    inherited[key] = value;
                }

                await using var process = TestProcess.StartDotnet($"jit-inlining ({name})", app, [], inherited);
                var exitCode = await process.WaitForExitAsync(RunTimeout);
                exitCode.Should().Be(0, $"the app reports and ends:\n{process.Output}");

                var decoder = new EventBatchDecoder(new IngestLimits());
                foreach (var incoming in ingest.Requests.SelectMany(r => decoder.Decode(r.Body).Events))
                {
                    var failure = incoming.Tags["failure"];
                    var call = incoming.Tags["call"];
                    // With tiering off and without inlining, the first and the warm call run the same code: one variant each.
                    var variant = name == "defaults" ? $"defaults-{call}" : name;
                    if (name == "defaults" || call == "warm")
                    {
                        _events[(variant, failure)] = incoming;
                    }

                    if (!Variants.Contains(variant))
                    {
                        Variants.Add(variant);
                    }

                    if (!Failures.Contains(failure))
                    {
                        Failures.Add(failure);
                    }
                }
            }

            Failures.Should().HaveCount(15);
            _events.Should().HaveCount(15 * 4);
        }

        public Task DisposeAsync() => Task.CompletedTask;
    }
}
