namespace ErrorHub.Storage;

/// <summary>
/// The store's schema was migrated by a newer build than this process: upgraded one process at a time, the others still run
/// the older build. Such a process refuses to start rather than write rows the newer schema does not expect, or record its
/// older version over the newer one (which would make the next newer process run its migrations again). docs/deployment.md.
/// </summary>
internal sealed class StoreSchemaTooNewException(string kind, long storedVersion, int knownVersion)
    : StoreSchemaRefusedException(
        $"the store's schema is version {storedVersion}, this build knows up to {knownVersion}: upgrade this process " +
        $"(a newer build of ErrorHub migrated the {kind} store; run that build, or a later one, in every process that uses it)")
{
    public long StoredVersion { get; } = storedVersion;

    public int KnownVersion { get; } = knownVersion;

    /// <summary>Throws when <paramref name="storedVersion"/> is newer than <paramref name="knownVersion"/>.</summary>
    public static void ThrowIfNewer(string kind, long storedVersion, int knownVersion)
    {
        if (storedVersion > knownVersion)
        {
            throw new StoreSchemaTooNewException(kind, storedVersion, knownVersion);
        }
    }
}
