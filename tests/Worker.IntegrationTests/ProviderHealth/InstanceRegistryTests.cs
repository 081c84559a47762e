using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.ProviderHealth;

namespace Worker.IntegrationTests.ProviderHealth;

/// <summary>
/// Instances counting each other through <c>worker_instances</c> in PostgreSQL. The table is a copy in a schema of the
/// test's own (the statements name it unqualified, so the search path picks it): a worker another test runs cannot
/// change the count.
/// </summary>
public sealed class InstanceRegistryTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly string _schema = "it_instances_" + Guid.NewGuid().ToString("N")[..8];
    private NpgsqlDataSource _admin = null!;
    private NpgsqlDataSource _database = null!;

    public async Task InitializeAsync()
    {
        await AuditDatabase.MigrateAsync(TestEnvironment.Postgres);
        _admin = NpgsqlDataSource.Create(TestEnvironment.Postgres);
        await Execute($"CREATE SCHEMA {_schema}; CREATE TABLE {_schema}.worker_instances (LIKE public.worker_instances INCLUDING ALL);");
        _database = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(TestEnvironment.Postgres) { SearchPath = _schema }.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        await Execute($"DROP SCHEMA {_schema} CASCADE");
        await _admin.DisposeAsync();
    }

    [Fact]
    public async Task Two_registered_instances_count_two_and_one_after_the_other_leaves()
    {
        var registry = new InstanceRegistry(_database);

        Assert.Equal(1, await registry.RenewAsync("it-a", Timeout, CancellationToken.None));
        Assert.Equal(2, await registry.RenewAsync("it-b", Timeout, CancellationToken.None));
        Assert.Equal(2, await registry.RenewAsync("it-a", Timeout, CancellationToken.None)); // a renewal adds no row

        await registry.RemoveAsync("it-b", CancellationToken.None);
        Assert.Equal(1, await registry.RenewAsync("it-a", Timeout, CancellationToken.None));
    }

    [Fact]
    public async Task An_instance_not_seen_within_the_timeout_is_counted_out_and_a_long_dead_one_deleted()
    {
        var registry = new InstanceRegistry(_database);
        await registry.RenewAsync("it-a", Timeout, CancellationToken.None);
        await registry.RenewAsync("it-stale", Timeout, CancellationToken.None);
        await registry.RenewAsync("it-dead", Timeout, CancellationToken.None);
        await Execute($"""
            UPDATE {_schema}.worker_instances SET seen_at = now() - interval '31 seconds' WHERE instance = 'it-stale';
            UPDATE {_schema}.worker_instances SET seen_at = now() - interval '2 days' WHERE instance = 'it-dead';
            """);

        Assert.Equal(1, await registry.RenewAsync("it-a", Timeout, CancellationToken.None));
        Assert.Equal(["it-a", "it-stale"], await Instances());
    }

    [Fact]
    public async Task The_heartbeat_counts_into_the_pacing_and_deletes_its_row_at_stop()
    {
        var registry = new InstanceRegistry(_database);
        await registry.RenewAsync("it-other", Timeout, CancellationToken.None);
        var live = new LiveInstances();
        var options = Options.Create(new ProviderHealthOptions { InstanceName = "it-self", HeartbeatInterval = TimeSpan.FromSeconds(1) });
        var heartbeat = new InstanceHeartbeat(registry, live, options, TimeProvider.System, NullLogger<InstanceHeartbeat>.Instance);

        await heartbeat.StartAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => Task.FromResult(live.Count == 2), TimeSpan.FromSeconds(10), "the heartbeat counts itself and it-other");
        Assert.Contains("it-self", await Instances());

        await heartbeat.StopAsync(CancellationToken.None);
        Assert.Equal(["it-other"], await Instances());
    }

    private async Task<List<string>> Instances()
    {
        await using var command = _database.CreateCommand("SELECT instance FROM worker_instances ORDER BY instance");
        await using var reader = await command.ExecuteReaderAsync();
        var names = new List<string>();
        while (await reader.ReadAsync())
            names.Add(reader.GetString(0));
        return names;
    }

    private async Task Execute(string sql)
    {
        await using var command = _admin.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }
}
