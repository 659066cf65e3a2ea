using ErrorHub.Storage;
using ErrorHub.Storage.Events;

namespace ErrorHub.Notifications.Content;

/// <summary>
/// What an issue alert says, whatever triggered it. The issue is named after its <paramref name="FirstEvent"/> (what the
/// issue is, as its title stays); what happened is told from <paramref name="SampleEvent"/>, the event that made the
/// alert (a new issue's first, a regression's first of the reopening, a spike's first of its window), else the latest.
/// </summary>
internal sealed record IssueAlert(
    string ProjectName,
    AlertTrigger Trigger,
    IssueSummary Issue,
    ErrorEvent? FirstEvent,
    ErrorEvent? SampleEvent,
    ErrorEvent? LatestEvent,
    Uri IssueLink,
    Uri SettingsLink)
{
    /// <summary>Why now, in words: "3 events in 10 minutes", "resolved on ..., back in release 2.0".</summary>
    public string? Reason { get; init; }

    /// <summary>The environment the rule watches, else the event's.</summary>
    public string? Environment { get; init; }

    public int HeldBack { get; init; }

    /// <summary>The name of whoever the issue is assigned to, if anyone: who fixed it last time, or is on it.</summary>
    public string? Assignee { get; init; }
}

/// <summary>
/// The mails of issue alerts. The subject is the issue's, the same for every mail about it, so that mail clients
/// (Gmail compares subjects too) keep them in one thread: <c>[shop] NullReferenceException in CheckoutService.Complete</c>;
/// what happened (new issue, regression, spike) heads the body.
/// </summary>
internal static class IssueMails
{
    private const int MaxFrames = 8;

    public static MailContent Compose(IssueAlert alert)
    {
        var issue = alert.Issue;
        var sample = alert.SampleEvent ?? alert.FirstEvent ?? alert.LatestEvent;
        var identity = alert.FirstEvent ?? sample;
        var environment = alert.Environment ?? sample?.Environment;
        var what = Headline(issue, identity);
        var kind = Kind(alert.Trigger);
        var mail = new MailWriter().Heading($"{kind}{(string.IsNullOrWhiteSpace(environment) ? "" : " in " + Bounded.Text(environment, 40))}: {what}");
        if (alert.Reason is { } reason)
        {
            mail.Paragraph(reason);
        }

        mail.Paragraph(Title(issue, identity));
        if (sample is not null)
        {
            mail.Paragraph(Story(sample));
            if (Outcome(sample) is { } outcome)
            {
                mail.Paragraph(outcome);
            }
        }

        mail.Facts(
            ("Where", issue.Culprit),
            ("Assigned to", alert.Assignee),
            ("URL", FullUrl(sample)),
            ("Browser", BrowserLine(sample)),
            ("User", UserLine(sample?.User)),
            ("Release", sample?.Release),
            ("Environment", sample?.Environment),
            ("Server", sample?.ServerName),
            ("Events", MailWriter.Number(issue.EventCount)),
            ("Users", MailWriter.Number(issue.UserCount)),
            ("First seen", MailWriter.Time(issue.FirstSeen)),
            ("Last seen", MailWriter.Time(issue.LastSeen)));
        mail.Code("In-app frames", Frames(sample));
        mail.Link("Open the issue", alert.IssueLink);
        if (alert.HeldBack > 0)
        {
            mail.Paragraph($"And {MailWriter.Number(alert.HeldBack)} more alerts of this project were held back by its hourly limit since the last mail; the issue list has them all.");
        }

        mail.Footer($"Alert rules of {Bounded.Text(alert.ProjectName, 60)} and who gets them", alert.SettingsLink);
        return mail.Build(Subject(alert.ProjectName, issue, identity));
    }

    /// <summary>An issue's thread subject: <c>[shop] NullReferenceException in CheckoutService.Complete</c>, from its first event.</summary>
    public static string Subject(string projectName, IssueSummary issue, ErrorEvent? firstEvent) =>
        $"[{Bounded.Phrase(projectName, 60)}] {Headline(issue, firstEvent)}";

    /// <summary>What the alert is about, in the words of its subject: "New issue", "Frequent issue".</summary>
    public static string Kind(AlertTrigger trigger) => trigger switch
    {
        AlertTrigger.NewIssue => "New issue",
        AlertTrigger.Regression => "Regression",
        AlertTrigger.EventFrequency => "Frequent issue",
        AlertTrigger.UserFrequency => "Issue affecting many users",
        _ => "Issue",
    };

    /// <summary>"NullReferenceException in CheckoutService.Complete", else the issue's title.</summary>
    public static string Headline(IssueSummary issue, ErrorEvent? sample)
    {
        var type = RootCauseType(sample);
        var culprit = Bounded.ShortName(issue.Culprit, 2);
        var headline = type.Length > 0 && culprit.Length > 0 ? $"{type} in {culprit}"
            : type.Length > 0 ? type
            : issue.Title;
        return Bounded.Phrase(headline, 120);
    }

    /// <summary>
    /// The short type of the exception the event's title names: grouping's root cause, which is not always the innermost
    /// exception (a <c>TimeoutException</c> around the <c>TaskCanceledException</c> it came from), so the subject names
    /// what the dashboard and the mail's body name. The innermost one when the title names none of them.
    /// </summary>
    private static string RootCauseType(ErrorEvent? sample)
    {
        if (sample?.Exceptions is not [.., var innermost] exceptions)
        {
            return "";
        }

        var title = sample.Title;
        for (var i = exceptions.Count - 1; i >= 0; i--)
        {
            var type = Bounded.ShortName(exceptions[i].Type, 1);
            if (type.Length > 0 && (title == type || title.StartsWith(type + ":", StringComparison.Ordinal)))
            {
                return type;
            }
        }

        return Bounded.ShortName(innermost.Type, 1);
    }

    /// <summary>
    /// The root cause, as the issue's title names it, with the exception it came wrapped in: a wrapper's own message
    /// ("An error occurred while saving the entity changes. See the inner exception for details.") tells nothing.
    /// </summary>
    private static string Title(IssueSummary issue, ErrorEvent? sample)
    {
        var title = sample is null || string.IsNullOrWhiteSpace(sample.Title) ? issue.Title : sample.Title;
        return sample?.TitleWrapper is { Length: > 0 } wrapper ? $"{title} (wrapped in {wrapper})" : title;
    }

    /// <summary>What the exception did to the app when the SDK says so: a crash that ended the process is more than an error of one request.</summary>
    private static string? Outcome(ErrorEvent sample) =>
        sample.Tags.TryGetValue("mechanism", out var mechanism) ? mechanism switch
        {
            "AppDomain.UnhandledException" => "Nothing caught this exception: the process ended (AppDomain.UnhandledException).",
            "TaskScheduler.UnobservedTaskException" => "A task failed and nothing awaited it (TaskScheduler.UnobservedTaskException); the process went on.",
            _ => null,
        } : null;

    /// <summary>"Joe Smith (joe@example.com) had this on Tuesday 1 December 2026, 14:03 UTC, at POST /checkout, on Windows 10 with Firefox 120".</summary>
    private static string Story(ErrorEvent sample)
    {
        var who = UserLine(sample.User) is { Length: > 0 } user ? user : "Someone";
        var where = sample.Request is { } request && FullUrl(sample) is { } url ? $", at {request.Method} {url}".Replace("  ", " ", StringComparison.Ordinal) : "";
        return $"{who} had this on {MailWriter.Time(sample.Timestamp)}{where}{Client(sample)}.";
    }

    /// <summary>The browser and OS the SDK read from the User-Agent (its tags), else the header itself.</summary>
    private static string Client(ErrorEvent sample)
    {
        var browser = sample.Tags.TryGetValue("browser", out var b) && !string.IsNullOrWhiteSpace(b) ? Bounded.Text(b, 60) : null;
        var os = sample.Tags.TryGetValue("client_os", out var o) && !string.IsNullOrWhiteSpace(o) ? Bounded.Text(o, 60) : null;
        return (browser, os) switch
        {
            (not null, not null) => $", on {os} with {browser}",
            (not null, null) => $", with {browser}",
            (null, not null) => $", on {os}",
            _ => Header(sample, "User-Agent") is { } agent ? $", with {Bounded.Text(agent, 200)}" : "",
        };
    }

    /// <summary>"Firefox 120 on Windows 10" as the SDK read the User-Agent, else the header as sent (a client the parser does not know).</summary>
    private static string? BrowserLine(ErrorEvent? sample)
    {
        if (sample is null)
        {
            return null;
        }

        var browser = sample.Tags.TryGetValue("browser", out var b) && !string.IsNullOrWhiteSpace(b) ? b : null;
        var os = sample.Tags.TryGetValue("client_os", out var o) && !string.IsNullOrWhiteSpace(o) ? o : null;
        return browser is not null ? (os is not null ? $"{browser} on {os}" : browser) : Header(sample, "User-Agent");
    }

    private static string? UserLine(UserRecord? user)
    {
        if (user is null)
        {
            return null;
        }

        var name = user.Username ?? user.Id;
        return (name, user.Email) switch
        {
            (not null, not null) when name != user.Email => $"{name} ({user.Email})",
            (_, not null) => user.Email,
            (not null, null) => name,
            _ => user.IpAddress,
        };
    }

    /// <summary>The URL with its query string, which often says what the user was doing (<c>?bundle=team</c>); the SDK sends them apart.</summary>
    private static string? FullUrl(ErrorEvent? sample)
    {
        if (sample?.Request is not { Url: { } url } request)
        {
            return null;
        }

        var query = request.QueryString?.TrimStart('?');
        return string.IsNullOrEmpty(query) || url.Contains('?', StringComparison.Ordinal) ? url : url + "?" + query;
    }

    private static string? Header(ErrorEvent? sample, string name) =>
        sample?.Request?.Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    /// <summary>
    /// The app's frames nearest the root cause: the root's own, else those of the exceptions it came wrapped in, outward
    /// (an exception thrown inside a library carries only the library's frames; the app's call is in its wrapper's).
    /// </summary>
    private static IEnumerable<string> Frames(ErrorEvent? sample)
    {
        if (sample?.Exceptions is not { Count: > 0 } exceptions)
        {
            return [];
        }

        var frames = Enumerable.Range(0, RootIndex(sample) + 1).Reverse()
            .Select(i => exceptions[i].Frames.Where(f => f.InApp).ToList())
            .FirstOrDefault(f => f.Count > 0) ?? [];
        return frames.Take(MaxFrames).Select(f =>
        {
            var function = f.Type is { Length: > 0 } type && !f.Function.StartsWith(type, StringComparison.Ordinal) ? $"{type}.{f.Function}" : f.Function;
            var place = f.File is null ? "" : f.Line is { } line ? $" ({f.File}:{line})" : $" ({f.File})";
            return "at " + function + place;
        });
    }

    /// <summary>Which exception of the chain the title names (outermost first on the wire): the innermost of its type, else the innermost.</summary>
    private static int RootIndex(ErrorEvent sample)
    {
        var exceptions = sample.Exceptions;
        var colon = sample.Title.IndexOf(':', StringComparison.Ordinal);
        var titleType = colon > 0 ? sample.Title[..colon] : sample.Title;
        for (var i = exceptions.Count - 1; i >= 0; i--)
        {
            if (Bounded.ShortName(exceptions[i].Type, 1) == titleType)
            {
                return i;
            }
        }

        return exceptions.Count - 1;
    }
}
