using Npgsql;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Worker.Audit;
using Worker.Contracts;
using Worker.IntegrationTests.Faults;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.Scale;

/// <summary>
/// Messaging:QueueType=quorum on the real broker (a single node holds quorum queues too): requests, a deferral sent back
/// to the queue, and a broken message through the quorum <c>_error</c> queue; a queue of the other type stops the start.
/// The queue has a name of its own and requests are sent to it alone, so the classic request queue of the other tests
/// never sees them.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class QuorumQueueTests(FaultFixture fixture) : IAsyncLifetime
{
    private const string Queue = "it-quorum-requests";

    private readonly FaultFixture _f = fixture;
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync()
    {
        _f.Sim.Clear();
        await _f.CleanSlateAsync();
        await RawAmqp.DeleteRequestQueuesAsync(Queue);
    }

    [Fact]
    public async Task With_quorum_queues_requests_deferrals_and_broken_messages_all_reach_their_outcome()
    {
        WorkerProcess? worker = null;
        try
        {
            worker = await WorkerProcess.StartAsync(Environment("quorum"));
            var requests = Enumerable.Range(0, 20).Select(i => TestProducer.NewRequest($"quorum {_run} #{i}")).ToList();
            await Task.WhenAll(requests.Select(r => _f.Producer.SendAsync(Queue, r)));

            Assert.Empty(await _f.Producer.WaitForAllAsync([.. requests.Select(r => r.RequestId)], TimeSpan.FromMinutes(2)));
            var outcomes = await _f.OutcomesAsync([.. requests.Select(r => r.RequestId)]);
            Assert.All(requests, r => Assert.Equal((RequestStatus.Succeeded, 1), (outcomes[r.RequestId].Status, outcomes[r.RequestId].Answered)));
            Assert.True(await DeclaresAsync(Queue, quorum: true), "the request queue is not a quorum queue");
            Assert.False(await DeclaresAsync(Queue, quorum: false), "the request queue is a classic queue");

            // A 429 with a long Retry-After defers the request; its release is sent back to the quorum queue.
            _f.Sim.SetProfile("gemini", new FaultProfile { Script = ["429"], RetryAfterSeconds = 8 });
            var deferred = TestProducer.NewRequest($"quorum deferred {_run}");
            await _f.Producer.SendAsync(Queue, deferred);
            var result = Assert.IsType<CompletionSucceeded>(await _f.Producer.WaitForResultAsync(deferred.RequestId));
            Assert.Equal(("gemini", 2), (result.Provider, result.Attempts));

            // What MassTransit cannot read goes to the _error queue, quorum as well, and from there to the dead letters.
            await using (var amqp = await RawAmqp.ConnectAsync())
            {
                await amqp.PublishAsync(Queue, "", """{"requestId":"cut short""", "application/json",
                    new Dictionary<string, object?> { ["X-Scale-Marker"] = _run });
            }

            var source = await Eventually.ValueAsync(DeadLetterSourceAsync, s => s is not null, TimeSpan.FromMinutes(1), "the broken message's dead letter");
            Assert.Equal("error_queue", source);
            Assert.True(await DeclaresAsync(Queue + "_error", quorum: true), "the _error queue is not a quorum queue");
        }
        finally
        {
            if (worker is not null)
                await worker.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("quorum", "classic")]
    [InlineData("classic", "quorum")]
    public async Task A_request_queue_of_the_other_type_stops_the_start_naming_the_setting(string onBroker, string configured)
    {
        Assert.True(await DeclaresAsync(Queue, quorum: onBroker == "quorum"));

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            // Should it start after all, it must not stay running once this test has failed.
            await using var started = await WorkerProcess.StartAsync(Environment(configured));
        });

        Assert.Contains("exited with 2", failure.Message, StringComparison.Ordinal);
        Assert.Contains($"Messaging:QueueType is {configured}, but the queue '{Queue}'", failure.Message, StringComparison.Ordinal);
        Assert.Contains("RabbitMQ cannot change a queue's type in place", failure.Message, StringComparison.Ordinal);
    }

    private Dictionary<string, string?> Environment(string queueType)
    {
        var environment = _f.WorkerEnvironment();
        environment["Messaging:QueueName"] = Queue;
        environment["Messaging:QueueType"] = queueType;
        return environment;
    }

    private async Task<string?> DeadLetterSourceAsync()
    {
        await using var command = _f.Database.CreateCommand("SELECT source FROM dead_letters WHERE headers->>'X-Scale-Marker' = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = _run });
        return (string?)await command.ExecuteScalarAsync();
    }

    /// <summary>Declares <paramref name="queue"/> as quorum or classic: true when the broker accepts it (it is, or is now, of that type).</summary>
    private static async Task<bool> DeclaresAsync(string queue, bool quorum)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(TestEnvironment.RabbitMq) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false,
                quorum ? new Dictionary<string, object?> { ["x-queue-type"] = "quorum" } : null);
            return true;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 406)
        {
            return false;
        }
    }

    public async Task DisposeAsync()
    {
        _f.Sim.Clear();
        await RawAmqp.DeleteRequestQueuesAsync(Queue);
    }
}
