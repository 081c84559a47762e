using Microsoft.Extensions.Logging.Abstractions;
using Worker.Requests;

namespace Worker.Tests.Requests;

public class GroupCommitTests
{
    private sealed class Answer(string text)
    {
        public string Text { get; } = text;
    }

    /// <summary>A flush that holds each batch until the test lets it go, and remembers every batch it was given.</summary>
    private sealed class HeldFlush
    {
        private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<IReadOnlyList<string>> Batches { get; } = [];

        private readonly SemaphoreSlim _arrived = new(0);

        public Func<string, bool> Fails { get; set; } = _ => false;

        /// <summary>The batches so far: items joined by commas, batches by bars.</summary>
        public string Shape
        {
            get
            {
                lock (Batches)
                {
                    return string.Join("|", Batches.Select(b => string.Join(",", b)));
                }
            }
        }

        /// <summary>Waits for the next batch to reach the flush (one per call); the bound only turns a hang into a failure.</summary>
        public async Task ArrivedAsync() =>
            Assert.True(await _arrived.WaitAsync(TimeSpan.FromSeconds(30)), "no batch reached the flush in 30 s");

        public void Release()
        {
            var release = _release;
            _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            release.SetResult();
        }

        public async Task<IReadOnlyList<Answer?>> FlushAsync(IReadOnlyList<string> items, CancellationToken cancellationToken)
        {
            // Taken before the batch is visible: the test releases only batches it has seen, so none is released too early.
            var release = _release.Task;
            lock (Batches)
            {
                Batches.Add([.. items]);
            }

            _arrived.Release();
            await release.WaitAsync(TimeSpan.FromSeconds(30));
            if (items.Any(Fails))
            {
                throw new InvalidOperationException("a bad row fails its batch's transaction");
            }

            // "skip" stands for a row the batch leaves to its caller (its claim is gone, say).
            return items.Select(i => i == "skip" ? null : new Answer(i)).ToList();
        }
    }

    private static GroupCommit<string, Answer> Commit(HeldFlush flush, int maxBatch = 100, int writers = 1) =>
        new("test", flush.FlushAsync, new GroupCommitSettings(maxBatch, writers), NullLogger.Instance);

    [Fact]
    public async Task Writes_queued_while_a_flush_is_on_the_wire_go_out_together_in_the_next_one()
    {
        var flush = new HeldFlush();
        await using var commit = Commit(flush);

        var first = commit.WriteAsync("a");
        await flush.ArrivedAsync();
        var queued = new[] { commit.WriteAsync("b"), commit.WriteAsync("c"), commit.WriteAsync("d") };
        flush.Release();
        Assert.Equal("a", (await first)!.Text);
        await flush.ArrivedAsync();
        flush.Release();

        Assert.Equal(["b", "c", "d"], (await Task.WhenAll(queued)).Select(a => a!.Text));
        Assert.Equal("a|b,c,d", flush.Shape);
        Assert.Equal((2L, 4L), commit.Written);
    }

    [Fact]
    public async Task A_batch_never_exceeds_its_maximum()
    {
        var flush = new HeldFlush();
        await using var commit = Commit(flush, maxBatch: 2);

        var first = commit.WriteAsync("a");
        await flush.ArrivedAsync();
        var queued = new[] { commit.WriteAsync("b"), commit.WriteAsync("c"), commit.WriteAsync("d") };
        flush.Release();
        for (var batch = 2; batch <= 3; batch++)
        {
            await flush.ArrivedAsync();
            flush.Release();
        }

        await Task.WhenAll(queued.Append(first));
        Assert.Equal("a|b,c|d", flush.Shape);
    }

    [Fact]
    public async Task A_failed_batch_answers_null_to_its_own_items_only_so_each_writes_alone()
    {
        var flush = new HeldFlush { Fails = item => item == "bad" };
        await using var commit = Commit(flush);

        var first = commit.WriteAsync("a");
        await flush.ArrivedAsync();
        var failing = new[] { commit.WriteAsync("b"), commit.WriteAsync("bad") };
        flush.Release();
        await first;
        await flush.ArrivedAsync();
        flush.Release();
        Assert.All(await Task.WhenAll(failing), Assert.Null);

        // The writer goes on: the next batch is written as usual.
        var after = commit.WriteAsync("e");
        await flush.ArrivedAsync();
        flush.Release();
        Assert.Equal("e", (await after)!.Text);
    }

    [Fact]
    public async Task An_item_the_flush_leaves_alone_gets_null_and_the_others_their_answers()
    {
        var flush = new HeldFlush();
        await using var commit = Commit(flush);

        var first = commit.WriteAsync("a");
        await flush.ArrivedAsync();
        var queued = new[] { commit.WriteAsync("skip"), commit.WriteAsync("c") };
        flush.Release();
        await first;
        await flush.ArrivedAsync();
        flush.Release();

        var answers = await Task.WhenAll(queued);
        Assert.Null(answers[0]);
        Assert.Equal("c", answers[1]!.Text);
    }

    [Fact]
    public async Task Disposing_flushes_what_is_queued_and_later_writes_go_alone()
    {
        var flush = new HeldFlush();
        var commit = Commit(flush);
        var first = commit.WriteAsync("a");
        await flush.ArrivedAsync();
        var queued = commit.WriteAsync("b");

        var disposed = commit.DisposeAsync().AsTask();
        flush.Release();
        await flush.ArrivedAsync();
        flush.Release();
        await disposed;

        Assert.Equal(["a", "b"], new[] { (await first)!.Text, (await queued)!.Text });
        Assert.Null(await commit.WriteAsync("c"));
    }
}
