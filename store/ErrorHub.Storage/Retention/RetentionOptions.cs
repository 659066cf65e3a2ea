namespace ErrorHub.Storage;

/// <summary>
/// How long events are kept (<c>ErrorHub:Retention</c>). A project's own retention (days, set in the dashboard)
/// wins over <see cref="DefaultDays"/>. See docs/configuration.md.
/// </summary>
public sealed class RetentionOptions
{
    /// <summary>Run the retention worker in this process (default true). With several server processes on one store, one is enough.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Days events are kept for projects without a retention of their own, and for deleted projects. 0 keeps them until deleted by hand.</summary>
    public int DefaultDays { get; set; } = 90;

    /// <summary>Time between runs (default an hour); the first run is a minute after the start.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>What is wrong with these settings, one message per setting, each naming its key.</summary>
    public IReadOnlyList<string> Validate(string section = "ErrorHub:Retention")
    {
        var problems = new List<string>();
        if (DefaultDays is < 0 or > 36500)
        {
            problems.Add(FormattableString.Invariant($"{section}:DefaultDays must be between 0 (keep) and 36500, not {DefaultDays}."));
        }

        if (Interval < TimeSpan.FromMinutes(1) || Interval > TimeSpan.FromDays(7))
        {
            problems.Add(FormattableString.Invariant($"{section}:Interval must be between 00:01:00 and 7.00:00:00, not {Interval}."));
        }

        return problems;
    }
}
