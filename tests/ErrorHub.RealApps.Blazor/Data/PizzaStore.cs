using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace ErrorHub.RealApps.Blazor.Data;

/// <summary>
/// The app's orders, in SQLite through EF Core, as BlazingPizza keeps them. The model has a column (<see cref="PizzaOrder.DeliveredAt"/>)
/// that the database made by the previous release does not: every query of orders fails in SQLite, as a migration not
/// yet applied makes it fail in production.
/// </summary>
public sealed class PizzaStore(DbContextOptions<PizzaStore> options) : DbContext(options)
{
    public DbSet<PizzaOrder> Orders => Set<PizzaOrder>();

    /// <summary>
    /// The previous release's database: the orders table without the new column, with one order. An in-memory database
    /// lives as long as a connection to it is open: the one returned.
    /// </summary>
    public static SqliteConnection CreatePreviousRelease(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            CREATE TABLE IF NOT EXISTS Orders (Id INTEGER PRIMARY KEY, Customer TEXT NOT NULL);
            INSERT OR IGNORE INTO Orders (Id, Customer) VALUES (1, 'kim');
            """;
        command.ExecuteNonQuery();
        return connection;
    }
}

public sealed class PizzaOrder
{
    public int Id { get; set; }

    public string Customer { get; set; } = "";

    public DateTime? DeliveredAt { get; set; }
}

/// <summary>The app's data access, as BlazingPizza's EfRepository: the component calls it, it calls EF Core.</summary>
public sealed class OrderRepository(IDbContextFactory<PizzaStore> stores)
{
    public async Task<PizzaOrder?> GetOrderWithStatusAsync(int orderId)
    {
        await using var store = await stores.CreateDbContextAsync();
        return await store.Orders.SingleOrDefaultAsync(o => o.Id == orderId);
    }
}
