using ErrorHub.Testing.ClickHouse;
using Xunit;

namespace ErrorHub.Storage.Tests;

/// <summary>Every test class that needs ClickHouse joins this collection and so shares one server.</summary>
[CollectionDefinition(Name)]
public sealed class ClickHouseServerCollectionDefinition : ICollectionFixture<ClickHouseServerFixture>
{
    public const string Name = "ClickHouse";
}
