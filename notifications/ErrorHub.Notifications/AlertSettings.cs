using System.Text.Json;
using System.Text.Json.Serialization;
using ErrorHub.Storage;

namespace ErrorHub.Notifications;

/// <summary>What a project's alerts are: its rules, extra addresses, and which members turned which triggers off.</summary>
public sealed record AlertSettings
{
    public IReadOnlyList<AlertRule> Rules { get; init; } = [];

    /// <summary>Team addresses that get every alert of the project besides its members.</summary>
    public IReadOnlyList<string> ExtraAddresses { get; init; } = [];

    /// <summary>Members who do not want a trigger's mail for this project (every member gets every trigger otherwise).</summary>
    public IReadOnlyList<AlertOptOut> OptOuts { get; init; } = [];

    /// <summary>
    /// What of the stored document could not be read (a value of another type, a rule with an unknown trigger): each took
    /// its default, for the Alerts page to show. Never stored.
    /// </summary>
    [JsonIgnore]
    public IReadOnlyList<string> ReadProblems { get; init; } = [];

    /// <summary>A project that never saved its settings: a mail for every new issue and every regression, and the daily digest.</summary>
    public static AlertSettings Default { get; } = new()
    {
        Rules =
        [
            new AlertRule("new-issue", AlertTrigger.NewIssue),
            new AlertRule("regression", AlertTrigger.Regression),
            new AlertRule("digest", AlertTrigger.DailyDigest),
        ],
    };

    public bool Wants(Guid userId, AlertTrigger trigger) => !OptOuts.Any(o => o.UserId == userId && o.Trigger == trigger);
}

/// <summary>A trigger in the words the Alerts page's rules table uses ("Many events"), for that page, the mails' footers and the unsubscribe page.</summary>
public static class AlertTriggerNames
{
    public static string Label(AlertTrigger trigger) => trigger switch
    {
        AlertTrigger.NewIssue => "New issue",
        AlertTrigger.Regression => "Regression",
        AlertTrigger.EventFrequency => "Many events",
        AlertTrigger.UserFrequency => "Many users",
        AlertTrigger.DailyDigest => "Daily digest",
        AlertTrigger.Assignment => "Issues I take part in (assigned, commented, subscribed)",
        _ => trigger.ToString(),
    };
}

[JsonConverter(typeof(JsonStringEnumConverter<AlertTrigger>))]
public enum AlertTrigger
{
    /// <summary>An issue's first event.</summary>
    NewIssue,

    /// <summary>A resolved issue receives an event newer than its resolution (from its release or later, when resolved in one).</summary>
    Regression,

    /// <summary>More than <see cref="AlertRule.Threshold"/> events of an issue in <see cref="AlertRule.WindowMinutes"/>.</summary>
    EventFrequency,

    /// <summary>More than <see cref="AlertRule.Threshold"/> users of an issue in <see cref="AlertRule.WindowMinutes"/>.</summary>
    UserFrequency,

    /// <summary>Once a day: new issues, top issues, regressions, resolved, totals against the day before.</summary>
    DailyDigest,

    /// <summary>
    /// Not a rule: workflow mail about the issues the member takes part in (assigned, commented, changed, mentioned in,
    /// subscribed to): assignments, comments, status changes, regressions (<see cref="WorkflowMail"/>). Each member turns
    /// it off for themselves, for all issues of the project. (The name stays for the stored settings.)
    /// </summary>
    Assignment,
}

/// <summary>One alert rule of a project. <see cref="Id"/> names it in notification keys: keep it stable.</summary>
public sealed record AlertRule(string Id, AlertTrigger Trigger)
{
    public bool Enabled { get; init; } = true;

    /// <summary>Only events of this environment count (null: all).</summary>
    public string? Environment { get; init; }

    /// <summary>Only events at or above this level count (debug, info, warning, error, fatal; null: all).</summary>
    public string? MinimumLevel { get; init; }

    /// <summary>Frequency rules: more than this many events or users.</summary>
    public long Threshold { get; init; } = 100;

    /// <summary>Frequency rules: in this many minutes.</summary>
    public int WindowMinutes { get; init; } = 60;

    /// <summary>Frequency rules: quiet time per issue after a mail (null: the server's default).</summary>
    public int? CooldownMinutes { get; init; }

    internal EventFilter Filter => new(string.IsNullOrWhiteSpace(Environment) ? null : Environment, string.IsNullOrWhiteSpace(MinimumLevel) ? null : MinimumLevel);
}

public sealed record AlertOptOut(Guid UserId, AlertTrigger Trigger);

/// <summary>Reads and saves a project's <see cref="AlertSettings"/> in the store.</summary>
public sealed class AlertSettingsStore
{
    internal const string DocumentKind = "alerts";
    private readonly INotificationStore _store;

    public AlertSettingsStore(INotificationStore store) => _store = store;

    public async Task<AlertSettings> GetAsync(int projectId, CancellationToken cancellationToken = default) =>
        await _store.GetDocumentAsync(projectId, DocumentKind, cancellationToken) is { } json
            ? AlertSettingsJson.Read(json)
            : AlertSettings.Default;

    /// <summary>
    /// Saves <paramref name="settings"/> after checking what changed against the stored settings; a problem is an
    /// <see cref="ArgumentException"/> that says what is wrong. A value stored before its check existed (a rule's environment
    /// of 200 characters, more extra addresses than the limit) stays savable as it is, so that it blocks no other change
    /// (a member's own switches, an unsubscribe link); the Alerts page shows it as needing a fix.
    /// </summary>
    public async Task SaveAsync(int projectId, AlertSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Validate(settings, await GetAsync(projectId, cancellationToken));
        await _store.SaveDocumentAsync(projectId, DocumentKind, JsonSerializer.Serialize(settings, NotificationsJsonContext.Default.AlertSettings), cancellationToken);
    }

    /// <summary>
    /// Turns <paramref name="trigger"/> off for <paramref name="userId"/> on the project, as their switch on the Alerts page
    /// does (an unsubscribe link); the rest of the settings stay as they are. True when it was on.
    /// </summary>
    public async Task<bool> TurnOffAsync(int projectId, Guid userId, AlertTrigger trigger, CancellationToken cancellationToken = default)
    {
        var settings = await GetAsync(projectId, cancellationToken);
        if (!settings.Wants(userId, trigger))
        {
            return false;
        }

        await SaveAsync(projectId, settings with { OptOuts = [.. settings.OptOuts, new AlertOptOut(userId, trigger)] }, cancellationToken);
        return true;
    }

    /// <summary>The longest environment a rule filters on, as the Alerts page's box allows.</summary>
    internal const int MaxEnvironmentLength = 100;

    /// <summary>The most extra addresses a project mails besides its members (a team list is one address).</summary>
    public const int MaxExtraAddresses = 50;

    /// <summary>What is wrong with a rule's environment, or null: for the Alerts page to show beside a stored value that needs a fix.</summary>
    public static string? EnvironmentProblem(string? environment) =>
        environment is not null && (environment.Length > MaxEnvironmentLength || environment.Any(char.IsControl))
            ? $"An environment is at most {MaxEnvironmentLength} characters, without line breaks or other control characters."
            : null;

    /// <summary>What is wrong with the number of extra addresses, or null.</summary>
    public static string? ExtraAddressesProblem(int count) =>
        count > MaxExtraAddresses
            ? $"At most {MaxExtraAddresses} extra addresses ({count.ToString(System.Globalization.CultureInfo.InvariantCulture)} given): send to a team list instead."
            : null;

    /// <param name="settings">The settings to save.</param>
    /// <param name="stored">The settings saved before: a rule's environment and the count of extra addresses are checked only where they changed.</param>
    internal static void Validate(AlertSettings settings, AlertSettings? stored = null)
    {
        if (settings.Rules.Select(r => r.Id).Distinct(StringComparer.Ordinal).Count() != settings.Rules.Count)
        {
            throw new ArgumentException("Two rules have the same id.", nameof(settings));
        }

        foreach (var rule in settings.Rules)
        {
            if (string.IsNullOrWhiteSpace(rule.Id) || rule.Id.Length > 64)
            {
                throw new ArgumentException("A rule needs an id of 1 to 64 characters.", nameof(settings));
            }

            if (!Enum.IsDefined(rule.Trigger) || rule.Trigger == AlertTrigger.Assignment)
            {
                throw new ArgumentException($"Rule '{rule.Id}': no rule has that trigger (assignment mail goes to the assignee and is not a rule).", nameof(settings));
            }

            // The Alerts page's box holds 100 characters, but only the browser keeps to it: a circuit can send any string,
            // and the rule's filter goes into every round's queries and the heading of its mails.
            // A rule stored before this check existed keeps its environment until an admin changes it.
            var unchanged = stored?.Rules.Any(r => r.Id == rule.Id && string.Equals(r.Environment, rule.Environment, StringComparison.Ordinal)) == true;
            if (!unchanged && EnvironmentProblem(rule.Environment) is { } environmentProblem)
            {
                throw new ArgumentException($"Rule '{rule.Id}': {char.ToLowerInvariant(environmentProblem[0])}{environmentProblem[1..]}", nameof(settings));
            }

            _ = rule.Filter.Levels; // an unknown level throws, naming the known ones
            if (rule.Trigger is AlertTrigger.EventFrequency or AlertTrigger.UserFrequency
                && (rule.Threshold < 0 || rule.WindowMinutes is < 1 or > 24 * 60 || rule.CooldownMinutes is < 0))
            {
                throw new ArgumentException($"Rule '{rule.Id}': the threshold must be 0 or more, the window 1 to 1440 minutes, the cooldown 0 or more.", nameof(settings));
            }
        }

        // Counted before each is parsed: a million lines are refused at once. More than were stored only, as above.
        if (settings.ExtraAddresses.Count > (stored?.ExtraAddresses.Count ?? 0) && ExtraAddressesProblem(settings.ExtraAddresses.Count) is { } countProblem)
        {
            throw new ArgumentException(countProblem, nameof(settings));
        }

        var storedAddresses = stored?.ExtraAddresses.ToHashSet(StringComparer.Ordinal) ?? [];
        foreach (var address in settings.ExtraAddresses.Where(address => !storedAddresses.Contains(address)))
        {
            // MimeKit takes a quoted name with a line break in it ("Team\r\nBcc: ..." <oncall@...>): the name goes into
            // the To header of the extra addresses' copy, so no control character is taken anywhere in an address.
            if (address.Any(char.IsControl) || !MimeKit.MailboxAddress.TryParse(address, out var parsed) || parsed.Address.IndexOf('@', StringComparison.Ordinal) <= 0)
            {
                throw new ArgumentException($"'{Content.Bounded.Text(address, 100)}' is not an e-mail address.", nameof(settings));
            }
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(AlertSettings))]
[JsonSerializable(typeof(WorkerProgress))]
internal sealed partial class NotificationsJsonContext : JsonSerializerContext;

/// <summary>Where the worker is, per project: the new-issue cursor, the last digest's day and the frequency rules' last check.</summary>
internal sealed record WorkerProgress
{
    internal const string DocumentKind = "worker";

    /// <summary>
    /// The stored progress, field by field: a value that cannot be read (hand-edited, of another type) starts afresh as in
    /// the project's first round and is named in <paramref name="unreadable"/>; the others are kept, so one bad value does
    /// not stop the project's alerts for good.
    /// </summary>
    internal static WorkerProgress Read(string json, out IReadOnlyList<string> unreadable)
    {
        var problems = new List<string>();
        unreadable = problems;
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(json);
            root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            problems.Add("the whole document");
            return new WorkerProgress();
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            if (root.ValueKind != JsonValueKind.Null)
            {
                problems.Add("the whole document");
            }

            return new WorkerProgress();
        }

        var context = NotificationsJsonContext.Default;
        return new WorkerProgress
        {
            NewIssuesSince = Field(root, "newIssuesSince", context.NullableDateTimeOffset, problems),
            LastDigestDay = Field(root, "lastDigestDay", context.NullableDateOnly, problems),
            FrequencyCheckedUntil = Field(root, "frequencyCheckedUntil", context.NullableDateTimeOffset, problems),
            LateWatch = Field(root, "lateWatch", context.LateWatch, problems) is { Hours: not null } watch ? watch : null,
            WatchingSince = Field(root, "watchingSince", context.NullableDateTimeOffset, problems),
        };
    }

    private static T? Field<T>(JsonElement root, string name, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, List<string> problems)
    {
        if (!root.TryGetProperty(name, out var element))
        {
            return default;
        }

        try
        {
            return element.Deserialize(type);
        }
        catch (JsonException)
        {
            problems.Add(name);
            return default;
        }
    }

    public DateTimeOffset? NewIssuesSince { get; init; }

    public DateOnly? LastDigestDay { get; init; }

    /// <summary>The time of the last round that recorded every spike it found: the frequency rules look back to it.</summary>
    public DateTimeOffset? FrequencyCheckedUntil { get; init; }

    /// <summary>What the last round counted of the day before it: events that reach the store later with times in it are found.</summary>
    public LateWatch? LateWatch { get; init; }

    /// <summary>The project's first round: issues first seen before it are not news, however late their events come.</summary>
    public DateTimeOffset? WatchingSince { get; init; }
}

/// <summary>
/// The events a round counted with times before <see cref="Until"/>: per hour from <see cref="Since"/> (whole hours), and in the
/// last, unfinished hour; of every issue. A later count that is higher found late events there.
/// </summary>
internal sealed record LateWatch
{
    public DateTimeOffset Since { get; init; }

    public DateTimeOffset Until { get; init; }

    public long[] Hours { get; init; } = [];

    public long LastHour { get; init; }

    /// <summary>False in a count saved before December 2026, which counted the whole hours of the day's 1,000 busiest issues only.</summary>
    public bool EveryIssue { get; init; }
}
