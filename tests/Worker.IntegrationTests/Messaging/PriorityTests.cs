using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Worker.Contracts;
using Worker.IntegrationTests.Infrastructure;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.Messaging;

/// <summary>
/// Request priorities on the real broker: a worker that takes one request at a time from a slow provider, a backlog of
/// priority-2 batch work, then a few priority-9 interactive requests. The order is read from the simulator's call
/// sequence (the order the worker took the requests), not from timings.
/// </summary>
public sealed class PriorityTests : IAsyncLifetime
{
    private const string Queue = "it-priority-requests";
    private const int Batch = 24;
    private const int Interactive = 3;
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private OwnQueueWorker _w = null!;

    public async Task InitializeAsync() => _w = await OwnQueueWorker.StartAsync(Queue, new Dictionary<string, string?>
    {
        ["Messaging:ConcurrencyLimit"] = "1",
        ["Messaging:PrefetchCount"] = "1",
    }, sim => sim.SetProfile("gemini", new FaultProfile { LatencyMs = 400 }));

    [Fact]
    public async Task Interactive_requests_published_after_a_batch_backlog_are_taken_before_most_of_it()
    {
        var batch = Enumerable.Range(0, Batch).Select(i => Request($"batch {_run} #{i}", priority: 2)).ToList();
        var interactive = Enumerable.Range(0, Interactive).Select(i => Request($"interactive {_run} #{i}", priority: 9)).ToList();

        await Task.WhenAll(batch.Select(r => _w.Producer.SendAsync(Queue, r)));
        foreach (var request in interactive)
            await _w.Producer.SendAsync(Queue, request);

        Assert.Empty(await _w.Producer.WaitForAllAsync([.. batch.Concat(interactive).Select(r => r.RequestId)], TimeSpan.FromMinutes(2)));
        Assert.All(batch.Concat(interactive), r => Assert.IsType<CompletionSucceeded>(_w.Producer.Results(r.RequestId).Single()));
        var order = _w.Sim.Recent("gemini").Where(c => c.Prompt?.Contains(_run, StringComparison.Ordinal) == true)
            .OrderBy(c => c.Sequence).Select(c => c.Prompt!).ToList();
        Assert.Equal(Batch + Interactive, order.Count);
        var lastInteractive = order.FindLastIndex(p => p.StartsWith("interactive", StringComparison.Ordinal));
        var batchAfter = order.Skip(lastInteractive + 1).Count(p => p.StartsWith("batch", StringComparison.Ordinal));
        // Only what the worker had taken before the interactive requests arrived (one at a time, 400 ms each) runs first.
        Assert.True(batchAfter >= Batch * 3 / 4,
            $"only {batchAfter} of {Batch} batch requests ran after the last interactive one; call order: {string.Join(" | ", order)}");
    }

    [Fact]
    public async Task A_request_the_worker_sends_back_to_a_queue_carries_the_amqp_priority_of_its_body()
    {
        // Deferral release and replay send through the worker's bus: its send filter stamps the priority. Sent here to a
        // queue nobody consumes, so the message can be read as the broker holds it.
        var probe = $"it-priority-probe-{_run}";
        var bus = _w.Worker.Services.GetRequiredService<MassTransit.IBus>();
        var endpoint = await bus.GetSendEndpoint(new Uri($"queue:{probe}"));
        await using var amqp = await RawAmqp.ConnectAsync();
        try
        {
            await endpoint.Send(TestProducer.NewRequest($"resumed {_run}") with { Priority = 8 });

            var message = await amqp.GetAsync(probe);
            Assert.Equal(8, message.BasicProperties.Priority);
        }
        finally
        {
            await amqp.DeleteAsync(probe);
        }
    }

    [Fact]
    public async Task The_request_queue_is_a_classic_priority_queue()
    {
        Assert.True(await DeclaresAsync(new Dictionary<string, object?> { ["x-max-priority"] = RequestPriority.Highest }));
        Assert.False(await DeclaresAsync(null), "the request queue was declared without x-max-priority");
    }

    [Fact]
    public async Task A_broken_message_on_the_priority_queue_reaches_the_dead_letters_through_its_error_queue()
    {
        // MassTransit declares the _error queue with the endpoint's arguments and the error-queue ingest with
        // RequestQueue.Arguments: both must carry x-max-priority, or the broker refuses the second declaration.
        await using (var amqp = await RawAmqp.ConnectAsync())
        {
            await amqp.PublishAsync(Queue, "", """{"requestId":"cut short""", "application/json",
                new Dictionary<string, object?> { ["X-Priority-Marker"] = _run });
        }

        var source = await Eventually.ValueAsync(DeadLetterSourceAsync, s => s is not null, TimeSpan.FromMinutes(1), "the broken message's dead letter");
        Assert.Equal("error_queue", source);
    }

    private async Task<string?> DeadLetterSourceAsync()
    {
        await using var command = _w.Database.CreateCommand("SELECT source FROM dead_letters WHERE headers->>'X-Priority-Marker' = $1");
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = _run });
        return (string?)await command.ExecuteScalarAsync();
    }

    private static CompletionRequested Request(string prompt, int priority) => TestProducer.NewRequest(prompt) with { Priority = priority };

    /// <summary>Declares the queue again with <paramref name="arguments"/>: true when the broker accepts them (they are the queue's).</summary>
    private static async Task<bool> DeclaresAsync(IDictionary<string, object?>? arguments)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(TestEnvironment.RabbitMq) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            await channel.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false, arguments);
            return true;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 406)
        {
            return false;
        }
    }

    public async Task DisposeAsync() => await _w.DisposeAsync();
}
