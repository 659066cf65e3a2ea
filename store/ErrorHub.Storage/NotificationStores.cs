namespace ErrorHub.Storage;

/// <summary>The parts of one store that notifications use: issue states, activity reads and the outbox.</summary>
internal sealed record NotificationStores(IIssueStates States, IIssueActivity Activity, INotificationStore Outbox);
