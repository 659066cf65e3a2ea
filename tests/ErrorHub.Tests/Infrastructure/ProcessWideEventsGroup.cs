using Xunit;

namespace ErrorHub.Tests.Infrastructure;

/// <summary>
/// Runs alone: its tests raise process-wide events on purpose (a faulted task nobody awaited, found by a forced
/// collection). Every ErrorHub host running at that moment in the test process hooks them and would report that
/// exception as its own, so a test elsewhere that counts its events would count one more.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideEventsGroup
{
    public const string Name = "process-wide events";
}
