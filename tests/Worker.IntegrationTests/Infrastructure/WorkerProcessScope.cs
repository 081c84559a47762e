namespace Worker.IntegrationTests.Infrastructure;

/// <summary>
/// The worker processes one scenario started, killed together when it ends. A scenario bounded by a time limit goes on
/// running after the limit (a task cannot be stopped from outside); a worker it starts afterwards must not outlive the
/// test, or it would consume the shared request queue with this test's configuration in the middle of later tests. So a
/// process started in a scope that has ended is killed at once, and <see cref="WorkerProcess.StartAsync"/> throws.
/// </summary>
public sealed class WorkerProcessScope
{
    private static readonly AsyncLocal<WorkerProcessScope?> Ambient = new();
    private readonly List<WorkerProcess> _started = [];
    private bool _ended;

    /// <summary>The scope of the scenario running on this async flow, or null outside one.</summary>
    public static WorkerProcessScope? Current => Ambient.Value;

    /// <summary>
    /// Runs <paramref name="scenario"/> within <paramref name="limit"/>; whether it finishes, fails or runs out of time,
    /// every worker process it started is killed before this returns, and any it starts later is killed on start.
    /// </summary>
    public static async Task RunAsync(TimeSpan limit, Func<Task> scenario)
    {
        var scope = new WorkerProcessScope();
        Task run;
        var outer = Ambient.Value;
        Ambient.Value = scope;
        try
        {
            // The scenario's async flow captures the scope here and keeps it, even after this method moves on.
            run = scenario();
        }
        finally
        {
            Ambient.Value = outer;
        }

        try
        {
            await run.WaitAsync(limit);
        }
        finally
        {
            await scope.EndAsync();
        }
    }

    /// <summary>Adopts a started process; false when the scope has ended (the caller kills it).</summary>
    internal bool TryAdopt(WorkerProcess worker)
    {
        lock (_started)
        {
            if (_ended)
                return false;
            _started.Add(worker);
            return true;
        }
    }

    private async Task EndAsync()
    {
        WorkerProcess[] started;
        lock (_started)
        {
            _ended = true;
            started = [.. _started];
        }

        foreach (var worker in started)
            await worker.DisposeAsync();
    }
}
