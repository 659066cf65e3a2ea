using ErrorHub.Storage.ClickHouse;
using ErrorHub.Storage.Sqlite;

namespace ErrorHub.Notifications;

/// <summary>
/// Tells the store failures after which a round gives up: those that mean the store is not answering at all (ClickHouse
/// could not be reached, or gave no answer within its RequestTimeout; SQLite's file is locked past its busy timeout, or
/// cannot be used). Every other project's reads and writes would wait out the same timeout and fail the same way.
/// A query the store did answer with an error (a refusal, an answer too long) costs no wait and may concern that
/// project's data alone: the round goes on with the other projects.
/// </summary>
internal static class StoreNotAnswering
{
    public static bool Is(Exception exception) => exception switch
    {
        ClickHouseException { StatusCode: null } => true,
        _ => SqliteDatabase.IsUnavailable(exception),
    };
}
