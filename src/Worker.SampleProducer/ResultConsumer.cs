using System.Collections.Concurrent;
using MassTransit;
using Worker.Contracts;

namespace Worker.SampleProducer;

/// <summary>Receives both result types. A real backend would update its conversation here.</summary>
public sealed class ResultConsumer(ResultInbox inbox) : IConsumer<CompletionSucceeded>, IConsumer<CompletionFailed>
{
    public Task Consume(ConsumeContext<CompletionSucceeded> context) => inbox.Deliver(context.Message.RequestId, context.Message, context.MessageId);

    public Task Consume(ConsumeContext<CompletionFailed> context) => inbox.Deliver(context.Message.RequestId, context.Message, context.MessageId);
}

/// <summary>Matches results to the requests waiting for them, and drops duplicates by message id.</summary>
public sealed class ResultInbox
{
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource<object>> _waiting = new();
    private readonly ConcurrentDictionary<Guid, byte> _seenMessageIds = new();

    public Task Deliver(Guid requestId, object result, Guid? messageId)
    {
        // The worker derives the result's message id from the request id: a redelivered result has the same one.
        if (messageId is { } id && !_seenMessageIds.TryAdd(id, 0))
        {
            return Task.CompletedTask;
        }

        Source(requestId).TrySetResult(result);
        return Task.CompletedTask;
    }

    public Task<object> WaitAsync(Guid requestId, TimeSpan timeout) => Source(requestId).Task.WaitAsync(timeout);

    private TaskCompletionSource<object> Source(Guid requestId) =>
        _waiting.GetOrAdd(requestId, _ => new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously));

    public static void Print(object result)
    {
        switch (result)
        {
            case CompletionSucceeded s:
                Console.WriteLine($"  OK     {s.RequestId:D} by {s.Provider}/{s.Model}, attempts {s.Attempts}, fallback {s.FallbackUsed}, tokens {s.InputTokens}/{s.OutputTokens}");
                Console.WriteLine($"         \"{s.Text}\"");
                PrintRoute(s.Route, s.CostUsd);
                break;
            case CompletionFailed f:
                Console.WriteLine($"  FAILED {f.RequestId:D} {f.Reason} after {f.Attempts} call(s), parked {f.DeadLettered}");
                Console.WriteLine($"         {f.Error}");
                PrintRoute(f.Route, f.CostUsd);
                break;
        }
    }

    private static void PrintRoute(RouteDecision? route, double? costUsd)
    {
        if (route is not null)
            Console.WriteLine($"         route {route.Tier}: {string.Join(" > ", route.Candidates)} ({route.Reason}), cost {costUsd ?? 0:0.######} USD");
    }
}
