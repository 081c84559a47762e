using System.Collections.Concurrent;

namespace Worker.Benchmarks.Harness;

/// <summary>One request as the benchmark saw it: when it was published, when its result came, and what the result said.</summary>
public sealed class RequestRecord(Guid id, string tag, double publishedAt)
{
    public Guid Id { get; } = id;

    /// <summary>Which phase of a scenario sent it (e.g. warm-up, measured, reference).</summary>
    public string Tag { get; } = tag;

    /// <summary>Seconds on the benchmark's clock (<see cref="Clock"/>).</summary>
    public double PublishedAt { get; } = publishedAt;

    public double? ResultAt { get; set; }

    public bool Succeeded { get; set; }

    /// <summary>The provider that answered, or the failure reason.</summary>
    public string? Outcome { get; set; }

    /// <summary>Provider calls made for it (the result's <c>attempts</c>).</summary>
    public int Attempts { get; set; }

    public bool FallbackUsed { get; set; }

    /// <summary>The result's <c>costUsd</c>: the worker's estimate of all calls made for it, from its price table.</summary>
    public decimal? CostUsd { get; set; }

    /// <summary>The model that answered (null for a failure).</summary>
    public string? Model { get; set; }

    public double LatencySeconds => ResultAt is { } at ? at - PublishedAt : double.NaN;
}

/// <summary>The result a consumer read off the results queue.</summary>
public readonly record struct ResultInfo(Guid RequestId, bool Succeeded, string? Outcome, int Attempts, bool FallbackUsed, decimal? CostUsd = null,
    string? Model = null);

/// <summary>
/// Every request of one scenario (or phase) and its result. Results for requests it does not know (an earlier
/// scenario's stragglers) are counted and otherwise ignored; a second result for the same request is a duplicate.
/// </summary>
public sealed class RequestLog
{
    private readonly ConcurrentDictionary<Guid, RequestRecord> _requests = new();
    private readonly Lock _gate = new();
    private readonly List<(int Count, TaskCompletionSource Done)> _waiters = [];
    private int _completed;
    private int _duplicates;
    private int _strangers;

    /// <summary>Called after each first result (on the consumer's thread): a closed loop publishes the next request here.</summary>
    public Action? ResultArrived { get; set; }

    public int Completed => Volatile.Read(ref _completed);

    public int Duplicates => Volatile.Read(ref _duplicates);

    public int Strangers => Volatile.Read(ref _strangers);

    public int Published => _requests.Count;

    public IReadOnlyCollection<RequestRecord> All => [.. _requests.Values];

    public RequestRecord Add(Guid id, string tag, double publishedAt)
    {
        var record = new RequestRecord(id, tag, publishedAt);
        _requests[id] = record;
        return record;
    }

    public void Record(ResultInfo result, double at)
    {
        if (!_requests.TryGetValue(result.RequestId, out var record))
        {
            Interlocked.Increment(ref _strangers);
            return;
        }

        lock (record)
        {
            if (record.ResultAt is not null)
            {
                Interlocked.Increment(ref _duplicates);
                return;
            }

            record.ResultAt = at;
            record.Succeeded = result.Succeeded;
            record.Outcome = result.Outcome;
            record.Attempts = result.Attempts;
            record.FallbackUsed = result.FallbackUsed;
            record.CostUsd = result.CostUsd;
            record.Model = result.Model;
        }

        var completed = Interlocked.Increment(ref _completed);
        ResultArrived?.Invoke();
        lock (_gate)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (completed >= _waiters[i].Count)
                {
                    _waiters[i].Done.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>Waits until <paramref name="count"/> requests have their result; throws <see cref="TimeoutException"/> saying how many came.</summary>
    public async Task WaitForAsync(int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (Completed >= count)
                return;
            _waiters.Add((count, done));
        }

        try
        {
            await done.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Completed} of {count} results arrived within {timeout.TotalSeconds:0} s");
        }
    }
}
