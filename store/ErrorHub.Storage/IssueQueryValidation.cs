namespace ErrorHub.Storage;

internal static class IssueQueryValidation
{
    public const int MaxLimit = 1000;

    public static void Validate(IssueQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfNegative(query.Offset, nameof(query.Offset));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(query.Limit, nameof(query.Limit));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(query.Limit, MaxLimit, nameof(query.Limit));
        if (!Enum.IsDefined(query.Sort))
        {
            throw new ArgumentOutOfRangeException(nameof(query), query.Sort, "Unknown issue sort.");
        }
    }
}
