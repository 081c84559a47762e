using System.Collections.Concurrent;
using MassTransit;
using Worker.Contracts;

namespace Worker.IntegrationTests.Infrastructure;

/// <summary>
/// Counts what an in-process worker did per request: deliveries consumed (the consumer returned, so the delivery is
/// acknowledged), deliveries still in its hands, results published. A test that must show nothing more happens waits
/// for these counters to settle instead of sleeping.
/// </summary>
public sealed class WorkerTraffic : IConsumeObserver, IPublishObserver
{
    private readonly ConcurrentDictionary<Guid, int> _consumed = new();
    private readonly ConcurrentDictionary<Guid, int> _published = new();
    private int _inFlight;

    public static WorkerTraffic AttachTo(IBus bus)
    {
        var traffic = new WorkerTraffic();
        bus.ConnectConsumeObserver(traffic);
        bus.ConnectPublishObserver(traffic);
        return traffic;
    }

    /// <summary>Deliveries of <paramref name="requestId"/> the consumer finished without a fault.</summary>
    public int Consumed(Guid requestId) => _consumed.GetValueOrDefault(requestId);

    /// <summary>Results (succeeded or failed) published for <paramref name="requestId"/>.</summary>
    public int Published(Guid requestId) => _published.GetValueOrDefault(requestId);

    /// <summary>Request deliveries the worker has started and not finished.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>
    /// Every one of <paramref name="requestIds"/> was consumed, the worker holds no other delivery, and the producer has
    /// received every result published for them: no further result of theirs can be on its way.
    /// </summary>
    public bool Settled(IEnumerable<Guid> requestIds, TestProducer producer) =>
        InFlight == 0 && requestIds.All(id => Consumed(id) > 0 && producer.ResultCount(id) >= Published(id));

    Task IConsumeObserver.PreConsume<T>(ConsumeContext<T> context)
    {
        if (context.Message is CompletionRequested)
            Interlocked.Increment(ref _inFlight);
        return Task.CompletedTask;
    }

    Task IConsumeObserver.PostConsume<T>(ConsumeContext<T> context)
    {
        if (context.Message is CompletionRequested request)
        {
            _consumed.AddOrUpdate(request.RequestId, 1, (_, n) => n + 1);
            Interlocked.Decrement(ref _inFlight);
        }

        return Task.CompletedTask;
    }

    Task IConsumeObserver.ConsumeFault<T>(ConsumeContext<T> context, Exception exception)
    {
        if (context.Message is CompletionRequested)
            Interlocked.Decrement(ref _inFlight);
        return Task.CompletedTask;
    }

    Task IPublishObserver.PrePublish<T>(PublishContext<T> context) => Task.CompletedTask;

    Task IPublishObserver.PostPublish<T>(PublishContext<T> context)
    {
        var requestId = context.Message switch
        {
            CompletionSucceeded succeeded => succeeded.RequestId,
            CompletionFailed failed => failed.RequestId,
            _ => (Guid?)null,
        };
        if (requestId is { } id)
            _published.AddOrUpdate(id, 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }

    Task IPublishObserver.PublishFault<T>(PublishContext<T> context, Exception exception) => Task.CompletedTask;
}
