using System.Globalization;
using System.Text;

namespace ErrorHub.Storage.ClickHouse;

/// <summary>
/// Literals and identifiers for query text. ClickHouse 18.x has no query parameters, so every value
/// that reaches a query is escaped here; nothing else may build literals.
/// </summary>
internal static class ClickHouseSql
{
    /// <summary>A single-quoted string literal that ClickHouse reads back as exactly <paramref name="value"/>.</summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var builder = new StringBuilder(value.Length + 2);
        builder.Append('\'');
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\': builder.Append(@"\\"); break;
                case '\'': builder.Append(@"\'"); break;
                case '\0': builder.Append(@"\0"); break;
                case '\n': builder.Append(@"\n"); break;
                case '\r': builder.Append(@"\r"); break;
                case '\t': builder.Append(@"\t"); break;
                case '\b': builder.Append(@"\b"); break;
                case '\f': builder.Append(@"\f"); break;
                default:
                    if (c < ' ' || c == '\x7f')
                    {
                        // Other control characters are legal in a literal, but escaping keeps query text printable in logs.
                        builder.Append(@"\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        builder.Append(c);
                    }

                    break;
            }
        }

        return builder.Append('\'').ToString();
    }

    /// <summary>A back-quoted identifier (database, table or column name).</summary>
    public static string QuoteIdentifier(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return "`" + name.Replace("\\", @"\\", StringComparison.Ordinal).Replace("`", @"\`", StringComparison.Ordinal) + "`";
    }

    public static string Literal(int value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Literal(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A UUID as a string literal: comparisons and IN sets convert it to the UUID column type (and the primary key is still used).</summary>
    public static string Literal(Guid value) => "'" + value.ToString("D") + "'";
}
