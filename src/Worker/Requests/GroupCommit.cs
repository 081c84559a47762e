using System.Diagnostics;
using System.Threading.Channels;
using Worker.Telemetry;

namespace Worker.Requests;

/// <summary>
/// Group commit: the writes of many concurrent requests share one round trip and one transaction. A write waits in a
/// queue; each of <see cref="GroupCommitSettings.Writers"/> writer loops takes what has queued up (at most
/// <see cref="GroupCommitSettings.MaxBatch"/> items) and flushes it at once. There is no timer: a lone write goes out
/// immediately, and under load a batch is whatever arrived while the previous flush was on the wire, so batches grow
/// with the load and the latency of one write stays one flush.
/// <para>
/// A flush answers per item: a result, or the default (null, false) for an item the batch leaves to its caller (it
/// needs the careful one-request path: a row in an unexpected state). When a flush throws (PostgreSQL away, one bad row
/// failing the transaction), every item of that batch gets the default, so each falls back to its own write with its own retry:
/// a failed batch fails only its own requests, and a bad row fails only itself.
/// </para>
/// </summary>
public sealed class GroupCommit<TItem, TResult> : IAsyncDisposable
{
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = false });
    private readonly Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult?>>> _flush;
    private readonly GroupCommitSettings _settings;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly Task[] _writers;

    /// <param name="name">What is written ("claims", "outcomes"), for the log.</param>
    /// <param name="flush">Writes one batch in one transaction; returns one answer per item, in order. Not cancelled: a
    /// batch on the wire is finished (its items' callers wait for it), and disposing lets the queued ones flush.</param>
    public GroupCommit(string name, Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult?>>> flush,
        GroupCommitSettings settings, ILogger logger)
    {
        _name = name;
        _flush = flush;
        _settings = settings;
        _logger = logger;
        // The writers outlive whoever built this; they must not carry that caller's span (or anything else ambient) forever.
        using (ExecutionContext.SuppressFlow())
            _writers = Enumerable.Range(0, Math.Max(1, settings.Writers)).Select(_ => Task.Run(WriteLoopAsync)).ToArray();
    }

    /// <summary>Batches written so far and the items in them.</summary>
    public (long Batches, long Items) Written => (Interlocked.Read(ref _batches), Interlocked.Read(ref _items));

    private long _batches;
    private long _items;

    /// <summary>
    /// Queues <paramref name="item"/> for the next flush. Returns its answer, or the default when the caller must write it alone.
    /// Not cancellable on purpose: once queued the write may happen, and the caller learns whether it did.
    /// </summary>
    public Task<TResult?> WriteAsync(TItem item)
    {
        var pending = new Pending(item);
        return _queue.Writer.TryWrite(pending) ? pending.Done.Task : Task.FromResult<TResult?>(default);
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Pending>(_settings.MaxBatch);
        var items = new List<TItem>(_settings.MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            items.Clear();
            while (batch.Count < _settings.MaxBatch && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
                items.Add(pending.Item);
            }

            if (batch.Count == 0)
            {
                continue;
            }

            using var span = StartFlushSpan(batch);
            try
            {
                var answers = await _flush(items, CancellationToken.None);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Done.TrySetResult(answers[i]);
                }

                Interlocked.Increment(ref _batches);
                Interlocked.Add(ref _items, batch.Count);
            }
            catch (Exception e)
            {
                // Each item takes the one-request path, which retries through outages and isolates a bad row.
                Log.BatchFailed(_logger, _name, batch.Count, e.GetType().Name, e.Message);
                foreach (var pending in batch)
                {
                    pending.Done.TrySetResult(default);
                }
            }
        }
    }

    /// <summary>Stops taking writes, lets the queued ones flush, then returns.</summary>
    /// <summary>
    /// The span of one batch write, so its database spans have a place: a child of the first item's span (a batch of one
    /// stays in its request's trace), linked to every item's. Null when nobody listens.
    /// </summary>
    private Activity? StartFlushSpan(List<Pending> batch)
    {
        if (!WorkerActivity.Source.HasListeners())
            return null;
        var links = batch.Where(p => p.Context != default).Select(p => new ActivityLink(p.Context)).ToList();
        return WorkerActivity.Source.StartActivity($"worker.group_commit {_name}", ActivityKind.Internal, batch[0].Context,
            [new("worker.batch.size", batch.Count)], links);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_writers);
    }

    private sealed class Pending(TItem item)
    {
        public TItem Item { get; } = item;

        /// <summary>The span of the caller that queued the item, if any: the batch's span links to it.</summary>
        public ActivityContext Context { get; } = Activity.Current?.Context ?? default;

        public TaskCompletionSource<TResult?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>How a <see cref="GroupCommit{TItem,TResult}"/> batches.</summary>
/// <param name="MaxBatch">Most items in one flush.</param>
/// <param name="Writers">Flushes on the wire at once (each holds one connection while it writes).</param>
public sealed record GroupCommitSettings(int MaxBatch, int Writers);
