using Worker.Contracts;

namespace Worker.Benchmarks.Harness;

/// <summary>The three ways the scenarios load the worker: a backlog, a closed loop and an open loop.</summary>
public static class Load
{
    public static CompletionRequested NewRequest(string scenario, int i, string? chain = null) =>
        new(Guid.NewGuid(), $"bench-{scenario}-{i}",
            [new ChatMessage(ChatRoles.System, "Be brief."), new ChatMessage(ChatRoles.User, $"Benchmark request {i}: one line on why retries need jitter.")],
            chain, Metadata: new Dictionary<string, string> { ["bench"] = scenario });

    /// <summary>Publishes <paramref name="count"/> requests as fast as the broker confirms them (to <paramref name="queue"/>, else the worker's exchange).</summary>
    public static async Task BacklogAsync(Broker broker, RequestLog log, string scenario, int count, string? queue, CancellationToken cancellationToken)
    {
        var pending = new List<Task>(1024);
        for (var i = 0; i < count; i++)
        {
            var request = NewRequest(scenario, i);
            log.Add(request.RequestId, "backlog", Clock.Now);
            pending.Add(broker.PublishAsync(request, queue, cancellationToken));
            if (pending.Count == 1024)
            {
                await Task.WhenAll(pending);
                pending.Clear();
            }
        }

        await Task.WhenAll(pending);
    }

    /// <summary>
    /// Keeps <paramref name="inFlight"/> requests outstanding (published, result not back yet): a new one goes out as each
    /// result arrives, until <paramref name="total"/> were published or the clock reaches <paramref name="until"/>.
    /// Returns once the last one is published; wait for the results with <see cref="RequestLog.WaitForAsync"/>.
    /// </summary>
    /// <param name="tag">Names the phase of each request at the moment it is published (e.g. warm-up, measured).</param>
    public static Task ClosedLoopAsync(Broker broker, RequestLog log, string scenario, int inFlight, int? total, double? until,
        Func<string> tag, string? chain, CancellationToken cancellationToken) =>
        ClosedLoopAsync(broker, log, inFlight, total, until, i => NewRequest(scenario, i, chain), _ => tag(), cancellationToken);

    /// <summary>
    /// The closed loop with requests of the scenario's own making: <paramref name="build"/> makes the i-th, and
    /// <paramref name="tag"/> names each by what it is (a workload class, say).
    /// </summary>
    public static async Task ClosedLoopAsync(Broker broker, RequestLog log, int inFlight, int? total, double? until,
        Func<int, CompletionRequested> build, Func<CompletionRequested, string> tag, CancellationToken cancellationToken)
    {
        // Never disposed: a result arriving just after the loop ends may still release it.
        var slots = new SemaphoreSlim(inFlight);
        log.ResultArrived = () => slots.Release();
        var confirms = new List<Task>();
        try
        {
            for (var i = 0; (total is null || i < total) && (until is null || Clock.Now < until); i++)
            {
                // Wake up now and then without a result, so the loop notices the end of its time.
                while (!await slots.WaitAsync(100, cancellationToken))
                {
                    if (until is not null && Clock.Now >= until)
                        return;
                }

                var request = build(i);
                log.Add(request.RequestId, tag(request), Clock.Now);
                confirms.Add(broker.PublishAsync(request, null, cancellationToken));
            }
        }
        finally
        {
            log.ResultArrived = null;
            await Task.WhenAll(confirms);
        }
    }

    /// <summary>Publishes at <paramref name="rate"/> per second for <paramref name="seconds"/>, whatever the results do (an open loop).</summary>
    public static async Task OpenLoopAsync(Broker broker, RequestLog log, string scenario, double rate, double seconds, Func<string> tag,
        CancellationToken cancellationToken, Func<bool>? stopEarly = null)
    {
        var confirms = new List<Task>();
        var start = Clock.Now;
        var published = 0;
        while (Clock.Now - start < seconds && stopEarly?.Invoke() != true)
        {
            var due = (int)((Clock.Now - start) * rate) + 1;
            for (; published < due; published++)
            {
                var request = NewRequest(scenario, published);
                log.Add(request.RequestId, tag(), Clock.Now);
                confirms.Add(broker.PublishAsync(request, null, cancellationToken));
            }

            var wait = start + published / rate - Clock.Now;
            if (wait > 0)
                await Task.Delay(TimeSpan.FromSeconds(wait), cancellationToken);
        }

        await Task.WhenAll(confirms);
    }
}
