namespace ErrorHub.Storage;

/// <summary>The parts of one store that notifications use: issue states and activity reads.</summary>
internal sealed record NotificationStores(IIssueStates States, IIssueActivity Activity);
