using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Worker.Hosting;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using Worker.Simulator;
using Worker.Simulator.Calls;

namespace Worker.IntegrationTests.Messaging;

/// <summary>
/// A simulator, a worker host consuming a request queue of its own (with the test's settings on top of the pipeline's)
/// and a producer with a results queue of its own: the queue's arguments and the worker's concurrency are the test's,
/// and no other worker takes its messages. The three queues are deleted at the end.
/// </summary>
public sealed class OwnQueueWorker : IAsyncDisposable
{
    private OwnQueueWorker(string queue, WebApplication simulator, WebApplication worker, TestProducer producer)
    {
        Queue = queue;
        Simulator = simulator;
        Worker = worker;
        Producer = producer;
    }

    public string Queue { get; }

    public WebApplication Simulator { get; }

    public SimulatorState Sim => Simulator.Services.GetRequiredService<SimulatorState>();

    public WebApplication Worker { get; }

    public TestProducer Producer { get; }

    public NpgsqlDataSource Database => Worker.Services.GetRequiredService<NpgsqlDataSource>();

    /// <summary>Starts the three; <paramref name="simulatorSetup"/> runs before the worker consumes anything.</summary>
    public static async Task<OwnQueueWorker> StartAsync(string queue, IReadOnlyDictionary<string, string?> settings, Action<SimulatorState>? simulatorSetup = null)
    {
        await AuditDatabase.MigrateAsync(TestEnvironment.Postgres);
        await RawAmqp.DeleteRequestQueuesAsync(queue);
        var simulator = SimulatorApp.Build(["--urls", "http://127.0.0.1:0"]);
        await simulator.StartAsync();
        simulatorSetup?.Invoke(simulator.Services.GetRequiredService<SimulatorState>());
        var all = PipelineFixture.WorkerSettings(simulator.GetBaseAddress());
        all["Messaging:QueueName"] = queue;
        foreach (var (key, value) in settings)
            all[key] = value;
        var worker = WorkerApp.Build(["--urls", "http://127.0.0.1:0"], builder => builder.Configuration.AddInMemoryCollection(all));
        await worker.StartAsync();
        await worker.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(30));
        var producer = await TestProducer.StartAsync(queue + "-results");
        return new OwnQueueWorker(queue, simulator, worker, producer);
    }

    /// <summary>Per request: its status, failure reason and the calls its row counts.</summary>
    public async Task<Dictionary<Guid, (string Status, string? Reason, int Attempts)>> RowsAsync(IReadOnlyCollection<Guid> requestIds)
    {
        await using var command = Database.CreateCommand("SELECT request_id, status, failure_reason, attempt_count FROM requests WHERE request_id = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = requestIds.ToArray() });
        var rows = new Dictionary<Guid, (string, string?, int)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            rows[reader.GetGuid(0)] = (reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetInt32(3));
        return rows;
    }

    /// <summary>Dead letters (parked requests) among <paramref name="requestIds"/>.</summary>
    public async Task<long> DeadLettersAsync(IReadOnlyCollection<Guid> requestIds)
    {
        await using var command = Database.CreateCommand("SELECT count(*) FROM dead_letters WHERE request_id = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = requestIds.ToArray() });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public async ValueTask DisposeAsync()
    {
        await Producer.DisposeAsync();
        await Worker.StopAsync();
        await Worker.DisposeAsync();
        await Simulator.StopAsync();
        await Simulator.DisposeAsync();
        await RawAmqp.DeleteRequestQueuesAsync(Queue);
    }
}
