using System.Text.RegularExpressions;

namespace ErrorHub.Storage;

internal static partial class StoreOptionsValidator
{
    public static IReadOnlyList<string> Problems(StoreOptions options)
    {
        var failures = new List<string>();
        if (IsKind(options.Kind, StoreOptions.SqliteKind))
        {
            if (options.Sqlite.Path is { } path && (string.IsNullOrWhiteSpace(path) || path.AsSpan().IndexOfAny(Path.GetInvalidPathChars()) >= 0))
            {
                failures.Add($"ErrorHub:Store:Sqlite:Path '{path}' is not a usable file path.");
            }
        }
        else if (IsKind(options.Kind, StoreOptions.ClickHouseKind))
        {
            ValidateClickHouse(options.ClickHouse, failures);
        }
        else
        {
            failures.Add($"ErrorHub:Store:Kind '{options.Kind}' is unknown: use '{StoreOptions.SqliteKind}' (embedded, the default) or '{StoreOptions.ClickHouseKind}'.");
        }

        if (options.SchemaWaitLimit < TimeSpan.FromSeconds(1) || options.SchemaWaitLimit > StoreOptions.MaxSchemaWaitLimit)
        {
            failures.Add($"ErrorHub:Store:SchemaWaitLimit must be between 00:00:01 and {StoreOptions.MaxSchemaWaitLimit} (e.g. 00:10:00), not {options.SchemaWaitLimit}.");
        }

        // Checked whatever the kind: the dashboard reads it either way.
        if (options.Sqlite.PageWriteTimeout <= TimeSpan.Zero || options.Sqlite.PageWriteTimeout > SqliteStoreOptions.MaxPageWriteTimeout)
        {
            failures.Add($"ErrorHub:Store:Sqlite:PageWriteTimeout must be positive and at most SQLite's busy timeout of {SqliteStoreOptions.MaxPageWriteTimeout} (e.g. 00:00:10), not {options.Sqlite.PageWriteTimeout}.");
        }

        return failures;
    }

    internal static bool IsKind(string? kind, string expected) =>
        string.Equals(kind?.Trim(), expected, StringComparison.OrdinalIgnoreCase);

    private static void ValidateClickHouse(ClickHouseStoreOptions options, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(options.Url))
        {
            failures.Add("ErrorHub:Store:ClickHouse:Url is required when ErrorHub:Store:Kind is 'clickhouse' (the server's HTTP interface, e.g. http://127.0.0.1:8123/).");
        }
        else if (!Uri.TryCreate(options.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add($"ErrorHub:Store:ClickHouse:Url '{options.Url}' is not an absolute http:// or https:// URL (e.g. http://127.0.0.1:8123/).");
        }
        else if (!string.IsNullOrEmpty(url.UserInfo))
        {
            failures.Add("ErrorHub:Store:ClickHouse:Url must not carry credentials: set ErrorHub:Store:ClickHouse:User and ErrorHub:Store:ClickHouse:Password instead.");
        }

        if (string.IsNullOrEmpty(options.Database) || !DatabaseName().IsMatch(options.Database))
        {
            failures.Add($"ErrorHub:Store:ClickHouse:Database '{options.Database}' is not a plain identifier (letters, digits and '_', not starting with a digit).");
        }

        if (!string.IsNullOrWhiteSpace(options.Cluster) && !DatabaseName().IsMatch(options.Cluster.Trim()))
        {
            failures.Add($"ErrorHub:Store:ClickHouse:Cluster '{options.Cluster}' is not a plain identifier (the cluster's name in the servers' remote_servers: letters, digits and '_').");
        }

        if (options.InsertQuorum < 0 || options.InsertQuorum > 16)
        {
            failures.Add($"ErrorHub:Store:ClickHouse:InsertQuorum must be between 0 (off) and 16 replicas, not {options.InsertQuorum}.");
        }
        else if (options.InsertQuorum > 1 && string.IsNullOrWhiteSpace(options.Cluster))
        {
            failures.Add("ErrorHub:Store:ClickHouse:InsertQuorum counts replicas: it needs ErrorHub:Store:ClickHouse:Cluster.");
        }

        if (options.RequestTimeout <= TimeSpan.Zero)
        {
            failures.Add($"ErrorHub:Store:ClickHouse:RequestTimeout must be positive (e.g. 00:02:00), not {options.RequestTimeout}.");
        }

        if (options.PageTimeout <= TimeSpan.Zero)
        {
            failures.Add($"ErrorHub:Store:ClickHouse:PageTimeout must be positive (e.g. 00:00:05), not {options.PageTimeout}.");
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex DatabaseName();
}
