using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Worker.Contracts;
using Worker.Messaging;

namespace Worker.IntegrationTests.Infrastructure;

/// <summary>
/// A chat backend's side of the bus, in a service provider of its own: it publishes requests and collects every
/// result it receives, so tests can check that each request got exactly one. Delay notices (<see cref="CompletionDelayed"/>)
/// are kept apart from results, with every message's arrival order, so tests can check what came before the result.
/// </summary>
public sealed class TestProducer : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly IBusControl _bus;
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource<object>> _first = new();
    private readonly ConcurrentDictionary<Guid, int> _counts = new();
    private readonly ConcurrentDictionary<Guid, ConcurrentQueue<object>> _all = new();
    private readonly ConcurrentDictionary<Guid, ConcurrentQueue<Guid?>> _messageIds = new();
    private readonly ConcurrentDictionary<Guid, ConcurrentQueue<(Guid? MessageId, CompletionDelayed Notice)>> _delays = new();
    private readonly ConcurrentDictionary<Guid, ConcurrentQueue<object>> _timeline = new();

    private readonly string _resultsQueue;

    private TestProducer(ServiceProvider services, string resultsQueue)
    {
        _services = services;
        _resultsQueue = resultsQueue;
        _bus = services.GetRequiredService<IBusControl>();
    }

    public static async Task<TestProducer> StartAsync(string resultsQueue = "it-results")
    {
        var broker = RabbitMqAddress.Parse(TestEnvironment.RabbitMq);
        TestProducer? producer = null;
        var services = new ServiceCollection();
        services.AddMassTransit(x =>
        {
            x.DisableUsageTelemetry();
            x.UsingRabbitMq((_, cfg) =>
            {
                cfg.Host(broker.Host, broker.Port, broker.VirtualHost, h =>
                {
                    h.Username(broker.Username);
                    h.Password(broker.Password);
                });
                cfg.ReceiveEndpoint(resultsQueue, e =>
                {
                    e.Handler<CompletionSucceeded>(ctx => producer!.Record(ctx.Message.RequestId, ctx.Message, ctx.MessageId));
                    e.Handler<CompletionFailed>(ctx => producer!.Record(ctx.Message.RequestId, ctx.Message, ctx.MessageId));
                    e.Handler<CompletionDelayed>(ctx => producer!.RecordDelay(ctx.Message, ctx.MessageId));
                });
            });
        });

        producer = new TestProducer(services.BuildServiceProvider(), resultsQueue);
        await using (var amqp = await RawAmqp.ConnectAsync())
        {
            // Leftovers of an earlier, interrupted run are not this run's results.
            await amqp.PurgeAsync(resultsQueue);
        }

        await producer._bus.StartAsync();
        await producer._bus.WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(30));
        return producer;
    }

    /// <summary>Publishes with the AMQP priority of the request's body, as a MassTransit producer should (README, "priority").</summary>
    public Task PublishAsync(CompletionRequested request) => _bus.Publish(request, ctx => ctx.SetPriority(RequestPriority.Amqp(request)));

    /// <summary>Sends to one request queue only (through the exchange MassTransit binds to it), not to every queue bound to the message type.</summary>
    public async Task SendAsync(string queue, CompletionRequested request) =>
        await (await _bus.GetSendEndpoint(new Uri($"exchange:{queue}"))).Send(request, ctx => ctx.SetPriority(RequestPriority.Amqp(request)));

    /// <summary>Publishes and waits for the result, which must be of type <typeparamref name="T"/>.</summary>
    public async Task<T> RequestAsync<T>(CompletionRequested request) where T : class
    {
        await PublishAsync(request);
        var result = await WaitForResultAsync(request.RequestId);
        return Assert.IsType<T>(result);
    }

    public Task<object> WaitForResultAsync(Guid requestId) =>
        _first.GetOrAdd(requestId, _ => NewSource()).Task.WaitAsync(TestEnvironment.ResultTimeout);

    public int ResultCount(Guid requestId) => _counts.GetValueOrDefault(requestId);

    /// <summary>Every result received for <paramref name="requestId"/>, in arrival order.</summary>
    public IReadOnlyList<object> Results(Guid requestId) => _all.TryGetValue(requestId, out var all) ? [.. all] : [];

    /// <summary>The message ids of every result received for <paramref name="requestId"/>, in arrival order.</summary>
    public IReadOnlyList<Guid?> MessageIds(Guid requestId) => _messageIds.TryGetValue(requestId, out var all) ? [.. all] : [];

    /// <summary>Request ids with at least one result.</summary>
    public IReadOnlyCollection<Guid> Answered => [.. _counts.Keys];

    /// <summary>Waits until every one of <paramref name="requestIds"/> has a result, up to <paramref name="timeout"/>; returns those still without.</summary>
    public async Task<IReadOnlyList<Guid>> WaitForAllAsync(IReadOnlyCollection<Guid> requestIds, TimeSpan timeout)
    {
        var (_, missing) = await Eventually.PollAsync(
            () => Task.FromResult<IReadOnlyList<Guid>>([.. requestIds.Where(id => ResultCount(id) == 0)]), left => left.Count == 0, timeout);
        return missing;
    }

    /// <summary>Waits until <paramref name="count"/> results have arrived for <paramref name="requestId"/> and returns them all.</summary>
    public async Task<IReadOnlyList<object>> WaitForResultsAsync(Guid requestId, int count)
    {
        await Eventually.ValueAsync(() => Task.FromResult(ResultCount(requestId)), received => received >= count,
            TestEnvironment.ResultTimeout, $"{count} results for request {requestId}");
        return Results(requestId);
    }

    /// <summary>Every delay notice received for <paramref name="requestId"/>, with its message id, in arrival order.</summary>
    public IReadOnlyList<(Guid? MessageId, CompletionDelayed Notice)> Delays(Guid requestId) =>
        _delays.TryGetValue(requestId, out var all) ? [.. all] : [];

    /// <summary>Every message (delay notice or result) received for <paramref name="requestId"/>, in arrival order.</summary>
    public IReadOnlyList<object> Timeline(Guid requestId) => _timeline.TryGetValue(requestId, out var all) ? [.. all] : [];

    private Task RecordDelay(CompletionDelayed notice, Guid? messageId)
    {
        _delays.GetOrAdd(notice.RequestId, _ => new()).Enqueue((messageId, notice));
        _timeline.GetOrAdd(notice.RequestId, _ => new()).Enqueue(notice);
        return Task.CompletedTask;
    }

    private Task Record(Guid requestId, object result, Guid? messageId = null)
    {
        _timeline.GetOrAdd(requestId, _ => new()).Enqueue(result);
        _all.GetOrAdd(requestId, _ => new()).Enqueue(result);
        _messageIds.GetOrAdd(requestId, _ => new()).Enqueue(messageId);
        _counts.AddOrUpdate(requestId, 1, (_, n) => n + 1);
        _first.GetOrAdd(requestId, _ => NewSource()).TrySetResult(result);
        return Task.CompletedTask;
    }

    private static TaskCompletionSource<object> NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static CompletionRequested NewRequest(string prompt = "Hello there", string? chain = null) =>
        new(Guid.NewGuid(), "conversation-" + Guid.NewGuid().ToString("N")[..8], [new ChatMessage("system", "Be brief."), new ChatMessage("user", prompt)],
            chain, Metadata: new Dictionary<string, string> { ["tenant"] = "acme" });

    public async ValueTask DisposeAsync()
    {
        await _bus.StopAsync();
        await _services.DisposeAsync();
        // A results queue nobody reads would collect every later test's results: the next run starts without it.
        await using var amqp = await RawAmqp.ConnectAsync();
        await amqp.DeleteAsync(_resultsQueue);
    }
}
