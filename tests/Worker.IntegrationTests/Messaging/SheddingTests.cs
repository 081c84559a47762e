using Worker.Contracts;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.Messaging;

/// <summary>
/// Shedding on the real broker, database and simulator: a worker one request at a time behind a slow provider, a depth
/// limit of 2 sampled every 200 ms. Sheddable requests queued in the middle of a backlog are answered <c>shed</c> with no
/// call; the others are served.
/// </summary>
public sealed class SheddingTests : IAsyncLifetime
{
    private const string Queue = "it-shedding-requests";
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private OwnQueueWorker _w = null!;

    public async Task InitializeAsync() => _w = await OwnQueueWorker.StartAsync(Queue, new Dictionary<string, string?>
    {
        ["Messaging:ConcurrencyLimit"] = "1",
        ["Messaging:PrefetchCount"] = "1",
        ["Shedding:MaxQueueDepth"] = "2",
        ["Shedding:MaxQueueAgeSeconds"] = "60",
        ["Shedding:ProbeInterval"] = "00:00:00.200",
    }, sim => sim.SetProfile("gemini", new FaultProfile { LatencyMs = 300 }));

    [Fact]
    public async Task Past_the_depth_limit_sheddable_requests_are_answered_shed_with_no_call_and_the_others_are_served()
    {
        // In publish order: the sheddable ones are taken while at least six requests still wait behind them.
        var before = Requests("before", 6, sheddable: false);
        var sheddable = Requests("look-ahead", 4, sheddable: true);
        var after = Requests("after", 6, sheddable: false);
        foreach (var request in before.Concat(sheddable).Concat(after))
            await _w.Producer.SendAsync(Queue, request);

        var all = before.Concat(sheddable).Concat(after).Select(r => r.RequestId).ToList();
        Assert.Empty(await _w.Producer.WaitForAllAsync(all, TimeSpan.FromMinutes(2)));
        var calls = _w.Sim.CallsByPrompt("gemini");
        foreach (var request in sheddable)
        {
            var shed = Assert.IsType<CompletionFailed>(Assert.Single(_w.Producer.Results(request.RequestId)));
            Assert.Equal((FailureReasons.Shed, 0, false), (shed.Reason, shed.Attempts, shed.DeadLettered));
            Assert.Contains("Shedding:MaxQueueDepth is 2", shed.Error, StringComparison.Ordinal);
            Assert.False(calls.ContainsKey(request.Messages[^1].Content!), "a shed request reached the provider");
        }

        foreach (var request in before.Concat(after))
        {
            Assert.IsType<CompletionSucceeded>(Assert.Single(_w.Producer.Results(request.RequestId)));
            Assert.Equal(1, calls[request.Messages[^1].Content!].Total);
        }

        // One outcome each in the audit trail, the shed ones failed with no call and none parked.
        var rows = await _w.RowsAsync(all);
        Assert.All(sheddable, r => Assert.Equal((RequestStatus.Failed, FailureReasons.Shed, 0), rows[r.RequestId]));
        Assert.All(before.Concat(after), r => Assert.Equal(RequestStatus.Succeeded, rows[r.RequestId].Status));
        Assert.Equal(0, await _w.DeadLettersAsync(all));
    }

    [Fact]
    public async Task A_sheddable_request_sent_longer_ago_than_the_age_limit_is_shed_and_a_fresh_one_is_served()
    {
        // A producer in another language: plain JSON, its send time in the AMQP timestamp property (seconds).
        var old = Guid.NewGuid();
        var fresh = Guid.NewGuid();
        await using (var amqp = await RawAmqp.ConnectAsync())
        {
            foreach (var (id, sentAt) in new[] { (old, DateTimeOffset.UtcNow.AddMinutes(-5)), (fresh, DateTimeOffset.UtcNow) })
            {
                var body = $$"""{"requestId":"{{id}}","messages":[{"role":"user","content":"look-ahead {{_run}} {{id}}"}],"sheddable":true}""";
                await amqp.PublishBytesAsync(Queue, "", System.Text.Encoding.UTF8.GetBytes(body), new RabbitMQ.Client.BasicProperties
                {
                    ContentType = "application/json",
                    Persistent = true,
                    MessageId = Guid.NewGuid().ToString(),
                    Timestamp = new RabbitMQ.Client.AmqpTimestamp(sentAt.ToUnixTimeSeconds()),
                });
            }
        }

        Assert.Empty(await _w.Producer.WaitForAllAsync([old, fresh], TimeSpan.FromMinutes(1)));
        var shed = Assert.IsType<CompletionFailed>(Assert.Single(_w.Producer.Results(old)));
        Assert.Equal((FailureReasons.Shed, 0), (shed.Reason, shed.Attempts));
        Assert.Contains("(Shedding:MaxQueueAgeSeconds is 60)", shed.Error, StringComparison.Ordinal);
        Assert.IsType<CompletionSucceeded>(Assert.Single(_w.Producer.Results(fresh)));
        Assert.False(_w.Sim.CallsByPrompt("gemini").ContainsKey($"look-ahead {_run} {old}"), "the shed request reached the provider");
    }

    private List<CompletionRequested> Requests(string kind, int count, bool sheddable) =>
        [.. Enumerable.Range(0, count).Select(i => TestProducer.NewRequest($"{kind} {_run} #{i}") with { Sheddable = sheddable })];

    public async Task DisposeAsync() => await _w.DisposeAsync();
}
