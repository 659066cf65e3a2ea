using ErrorHub.Storage;

namespace ErrorHub.Notifications.Content;

/// <summary>What a daily digest covers: one project, the 24 hours before <see cref="To"/> (whole days from <see cref="From"/> after missed digests).</summary>
internal sealed record Digest(string ProjectName, DateTimeOffset From, DateTimeOffset To, ActivityTotals Totals, ActivityTotals DayBefore, Uri ProjectLink, Uri SettingsLink)
{
    public IReadOnlyList<(IssueSummary Issue, Uri Link)> NewIssues { get; init; } = [];
    public int NewIssueCount { get; init; }
    public IReadOnlyList<(IssueSummary Issue, IssueActivity Activity, Uri Link)> TopByEvents { get; init; } = [];
    public IReadOnlyList<(IssueSummary Issue, IssueActivity Activity, Uri Link)> TopByUsers { get; init; } = [];
    public IReadOnlyList<(IssueSummary Issue, Uri Link)> Regressions { get; init; } = [];
    public IReadOnlyList<(IssueSummary Issue, Uri Link)> Resolved { get; init; } = [];
    public int HeldBack { get; init; }

    /// <summary>Sent from the Alerts page on request, not at the digest's hour: it says so, so nobody takes it for the day's.</summary>
    public bool OnRequest { get; init; }

    /// <summary>Recorded well after its hour (the store did not answer, or no server ran): it says so, and which days it covers.</summary>
    public bool Late { get; init; }

    /// <summary>Nothing happened in its days: no event, new issue, regression or resolution, and no alert held back.</summary>
    public bool IsEmpty => Totals.Events == 0 && NewIssueCount == 0 && Regressions.Count == 0 && Resolved.Count == 0 && HeldBack == 0;
}

internal static class DigestMails
{
    public static MailContent Compose(Digest digest)
    {
        var days = Math.Max(1, (int)Math.Round((digest.To - digest.From).TotalDays));
        var day = digest.To.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var firstDay = digest.From.UtcDateTime.AddDays(1).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var kind = digest.OnRequest ? "Digest on request" : "Daily digest";
        var covers = days == 1 ? day : $"{firstDay} to {day}";
        var subject = $"[{Bounded.Phrase(digest.ProjectName, 60)}] {kind} {covers}{(digest.Late ? " (late)" : "")}: {MailWriter.Count(digest.NewIssueCount, "new issue")}, {MailWriter.Count(digest.Totals.Events, "event")}";
        var before = days == 1 ? "day before" : $"{days} days before";
        var period = days == 1 ? (digest.Late ? $"the 24 hours to {MailWriter.Time(digest.To)}" : "the last 24 hours") : $"the {days} days to {MailWriter.Time(digest.To)}";
        var mail = new MailWriter()
            .Heading($"{Bounded.Text(digest.ProjectName, 60)}: {period}")
            .Paragraph(digest.OnRequest
                ? $"From {MailWriter.Time(digest.From)} to {MailWriter.Time(digest.To)}: sent on request from the project's Alerts page; the daily digest still comes at its hour."
                : $"From {MailWriter.Time(digest.From)} to {MailWriter.Time(digest.To)}.");
        if (digest.Late)
        {
            mail.Paragraph(days == 1
                ? "Sent late: ErrorHub could not read or record it at its hour (its store was not answering, or it was not running)."
                : $"Sent late, for the {days} days since the last digest: ErrorHub could not read or record the digests of these days at their hour (its store was not answering, or it was not running), so this one sums them up.");
        }

        mail
            .Facts(
                ("Events", $"{MailWriter.Number(digest.Totals.Events)} ({before}: {MailWriter.Number(digest.DayBefore.Events)}, {Change(digest.Totals.Events, digest.DayBefore.Events)})"),
                ("Users", $"{MailWriter.Number(digest.Totals.Users)} ({before}: {MailWriter.Number(digest.DayBefore.Users)}, {Change(digest.Totals.Users, digest.DayBefore.Users)})"),
                ("Issues with events", $"{MailWriter.Number(digest.Totals.Issues)} ({before}: {MailWriter.Number(digest.DayBefore.Issues)})"),
                ("New issues", MailWriter.Number(digest.NewIssueCount)),
                ("Regressions", MailWriter.Number(digest.Regressions.Count)),
                ("Resolved", MailWriter.Number(digest.Resolved.Count)))
            .List("New issues", digest.NewIssues.Select(n => (n.Issue.Title, (Uri?)n.Link)))
            .List("Top issues by events", digest.TopByEvents.Select(t => ($"{t.Issue.Title} — {MailWriter.Count(t.Activity.Events, "event")}", (Uri?)t.Link)))
            .List("Top issues by users", digest.TopByUsers.Select(t => ($"{t.Issue.Title} — {MailWriter.Count(t.Activity.Users, "user")}", (Uri?)t.Link)))
            .List("Regressions", digest.Regressions.Select(r => (r.Issue.Title, (Uri?)r.Link)))
            .List("Resolved", digest.Resolved.Select(r => (r.Issue.Title, (Uri?)r.Link)));
        if (digest.NewIssueCount > digest.NewIssues.Count)
        {
            mail.Paragraph($"And {MailWriter.Count(digest.NewIssueCount - digest.NewIssues.Count, "more new issue")}.");
        }

        if (digest.HeldBack > 0)
        {
            mail.Paragraph($"{MailWriter.Count(digest.HeldBack, "alert")} {(digest.HeldBack == 1 ? "was" : "were")} held back by the project's hourly limit since its last mail.");
        }

        return mail
            .Link("Open the issues", digest.ProjectLink)
            .Footer($"Alert rules of {Bounded.Text(digest.ProjectName, 60)} and who gets them", digest.SettingsLink)
            .Build(subject);
    }

    private static string Change(long now, long before) =>
        before == 0 ? (now == 0 ? "no change" : "new") : $"{(now - before) * 100 / before:+0;-0;0}%";
}
