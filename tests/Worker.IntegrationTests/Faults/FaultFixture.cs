using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Worker.Audit;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using Worker.Simulator;
using Worker.Simulator.Calls;

namespace Worker.IntegrationTests.Faults;

/// <summary>
/// The fault tests' world: the simulator in this process over real HTTP, a producer with its own results queue, the audit
/// database, and the worker started as separate OS processes (<see cref="WorkerProcess"/>) so tests can kill them.
/// </summary>
public sealed class FaultFixture : IAsyncLifetime
{
    public const string ResultsQueue = "it-fault-results";
    public const string RequestQueue = "completion-requests";

    public WebApplication Simulator { get; private set; } = null!;

    public SimulatorState Sim { get; private set; } = null!;

    public TestProducer Producer { get; private set; } = null!;

    public NpgsqlDataSource Database { get; } = NpgsqlDataSource.Create(TestEnvironment.Postgres);

    public async Task InitializeAsync()
    {
        await AuditDatabase.MigrateAsync(TestEnvironment.Postgres);
        Simulator = SimulatorApp.Build(["--urls", "http://127.0.0.1:0"]);
        await Simulator.StartAsync();
        Sim = Simulator.Services.GetRequiredService<SimulatorState>();
        await CleanSlateAsync();
        Producer = await TestProducer.StartAsync(ResultsQueue);
    }

    /// <summary>
    /// Every worker, in process or not, consumes the one request queue and re-publishes every due deferred row: leftovers
    /// of an earlier (failed) run would be answered in the middle of these tests and spoil their call counts.
    /// </summary>
    public async Task CleanSlateAsync()
    {
        // Connections pooled before a service restart in an earlier test are dead.
        Database.Clear();
        await using (var amqp = await RawAmqp.ConnectAsync())
            await amqp.PurgeAsync(RequestQueue, Worker.Messaging.RequestQueue.Arguments(new Worker.Messaging.MessagingOptions()));
        await using var clear = Database.CreateCommand("DELETE FROM deferred_requests");
        await clear.ExecuteNonQueryAsync();
    }

    /// <summary>The worker's environment: the test broker and database, the simulator, short backoffs, breakers and pings off.</summary>
    public Dictionary<string, string?> WorkerEnvironment()
    {
        var sim = Simulator.GetBaseAddress();
        return new Dictionary<string, string?>
        {
            ["ConnectionStrings:RabbitMq"] = TestEnvironment.RabbitMq,
            // A good neighbour on a shared PostgreSQL (max_connections 100): the pool, not the server, queues the bursts.
            ["ConnectionStrings:Postgres"] = new NpgsqlConnectionStringBuilder(TestEnvironment.Postgres) { MaxPoolSize = 40 }.ConnectionString,
            ["Providers:gemini:BaseUrl"] = new Uri(sim, "gemini").ToString(),
            ["Providers:gemini:Timeout"] = "00:00:20",
            ["Providers:gemini:ApiKey"] = null,
            ["Providers:openai:BaseUrl"] = new Uri(sim, "openai/v1").ToString(),
            ["Providers:openai:Timeout"] = "00:00:20",
            ["Providers:openai:ApiKey"] = null,
            ["GEMINI_API_KEY"] = "sim-gemini-key",
            ["OPENAI_API_KEY"] = "sim-openai-key",
            ["OPS_API_KEY"] = null,
            ["Chains:default:0:BaseDelay"] = "00:00:00.050",
            ["Chains:default:0:MaxDelay"] = "00:00:00.200",
            ["Chains:default:1:BaseDelay"] = "00:00:00.050",
            ["Chains:default:1:MaxDelay"] = "00:00:00.200",
            ["ProviderHealth:MinimumThroughput"] = "10000",
            ["ProviderHealth:PingInterval"] = "00:00:00",
            ["ProviderHealth:AlertInterval"] = "00:00:00",
            ["Retention:Days"] = "0",
            // One line per request and call at Information would be thousands of lines in the load tests.
            ["Logging:LogLevel:Worker"] = "Warning",
            ["Logging:LogLevel:Worker.Messaging"] = "Warning",
        };
    }

    /// <summary>Polls until every request has a terminal row (succeeded, failed, parked); returns those that have none.</summary>
    public async Task<List<Guid>> WaitForTerminalAsync(IReadOnlyCollection<Guid> requestIds, TimeSpan within)
    {
        var until = DateTimeOffset.UtcNow + within;
        while (true)
        {
            var terminal = await TerminalAsync(requestIds);
            var missing = requestIds.Where(id => !terminal.ContainsKey(id)).ToList();
            if (missing.Count == 0 || DateTimeOffset.UtcNow > until)
                return missing;
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
    }

    /// <summary>The requests among <paramref name="requestIds"/> that have a terminal row now, with their status.</summary>
    public async Task<Dictionary<Guid, string>> TerminalAsync(IReadOnlyCollection<Guid> requestIds)
    {
        await using var command = Database.CreateCommand($"""
            SELECT request_id, status FROM requests
            WHERE request_id = ANY($1) AND status IN ('{RequestStatus.Succeeded}', '{RequestStatus.Failed}', '{RequestStatus.Parked}')
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = requestIds.ToArray() });
        var rows = new Dictionary<Guid, string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            rows[reader.GetGuid(0)] = reader.GetString(1);
        return rows;
    }

    /// <summary>Per request: its status, the calls its row counts, and how many of its attempt rows answered.</summary>
    public async Task<Dictionary<Guid, (string Status, int AttemptCount, int Answered)>> OutcomesAsync(IReadOnlyCollection<Guid> requestIds)
    {
        await using var command = Database.CreateCommand("""
            SELECT r.request_id, r.status, r.attempt_count, count(a.id) FILTER (WHERE a.decision = 'answered')::int
            FROM requests r LEFT JOIN attempts a ON a.request_id = r.request_id
            WHERE r.request_id = ANY($1)
            GROUP BY r.request_id, r.status, r.attempt_count
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = requestIds.ToArray() });
        var rows = new Dictionary<Guid, (string, int, int)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            rows[reader.GetGuid(0)] = (reader.GetString(1), reader.GetInt32(2), reader.GetInt32(3));
        return rows;
    }

    /// <summary>Dead letters that came through the error or skipped queue for any of <paramref name="requestIds"/>.</summary>
    public async Task<long> ErrorQueueDeadLettersAsync(IReadOnlyCollection<Guid> requestIds)
    {
        await using var command = Database.CreateCommand("SELECT count(*) FROM dead_letters WHERE request_id = ANY($1) AND source <> 'chain'");
        command.Parameters.Add(new NpgsqlParameter { Value = requestIds.ToArray() });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Waits for <paramref name="condition"/> (<see cref="Eventually.TrueAsync"/>).</summary>
    public static Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan within, string what) => Eventually.TrueAsync(condition, within, what);

    public async Task DisposeAsync()
    {
        // Every worker process of these tests ends with them: one left running would answer the next collection's requests.
        var strays = await WorkerProcess.KillStraysAsync();
        if (strays > 0)
            await Console.Error.WriteLineAsync($"[fault tests] killed {strays} worker process(es) that a test left running");
        if (Producer is not null)
            await Producer.DisposeAsync();
        if (Simulator is not null)
        {
            await Simulator.StopAsync();
            await Simulator.DisposeAsync();
        }

        await Database.DisposeAsync();
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultCollection : ICollectionFixture<FaultFixture>
{
    public const string Name = "faults";
}
