namespace ErrorHub.Storage;

/// <summary>
/// The store's schema version is not one any build of ErrorHub records: a SQLite file whose <c>PRAGMA user_version</c> another
/// program set below zero, a ClickHouse <c>schema_versions</c> table of other columns. Migrating such a store as one from
/// before versions were recorded would run every migration over data ErrorHub may not have made (and record its version over
/// the other program's), so the process refuses to start and changes nothing. docs/deployment.md.
/// </summary>
internal sealed class StoreSchemaVersionUnknownException(string message) : StoreSchemaRefusedException(message)
{
    /// <summary>Throws when <paramref name="storedVersion"/>, read from the SQLite file at <paramref name="path"/>, is below zero.</summary>
    public static void ThrowIfNegative(long storedVersion, string path)
    {
        if (storedVersion < 0)
        {
            throw new StoreSchemaVersionUnknownException(
                $"the store's schema version is {storedVersion}, which no build of ErrorHub makes: the PRAGMA user_version of {path} was set by " +
                "another program, or the file is not ErrorHub's; nothing was changed. Point ErrorHub:Store:Sqlite:Path at ErrorHub's own file " +
                "(a new file is made where none is)");
        }
    }
}
