using Microsoft.Extensions.Options;
using Npgsql;
using Quartz;
using Worker.Persistence;

namespace Worker.DeadLetters;

/// <summary>
/// DeadLetters:AutoReplay: once a chain with parked requests is healthy again, replay them at the configured rate, as
/// an operation recorded like any other (requested by "auto-replay"). One replay at a time: nothing new is started while
/// an operation is unfinished, and a request replayed AutoReplayMaxReplays times is left to ops.
/// </summary>
public sealed class AutoReplay(
    NpgsqlDataSource dataSource,
    DeadLetterStore store,
    IChainHealth health,
    ReplayRunner runner,
    IOptions<DeadLettersOptions> options,
    TimeProvider time,
    ILogger<AutoReplay> logger)
{
    public const string RequestedBy = "auto-replay";

    /// <summary>The operations started, one per healthy chain.</summary>
    public async Task<IReadOnlyList<OperationAccepted>> RunAsync(CancellationToken cancellationToken)
    {
        var started = new List<OperationAccepted>();
        if (await ReplayUnfinishedAsync(cancellationToken))
            return started;

        foreach (var chain in await ChainsWithParkedAsync(cancellationToken))
        {
            if (!await health.IsHealthyAsync(chain, cancellationToken))
                continue;

            var filter = DeadLetterFilter.All with { Chain = chain, ReplayedFewerThan = options.Value.AutoReplayMaxReplays };
            var operation = await store.CreateReplayAsync(new DeadLetterSelection(null, filter, false, null), RequestedBy, time.GetUtcNow(), cancellationToken);
            if (operation.Selected > 0)
            {
                Log.AutoReplayStarted(logger, chain, operation.Selected, operation.OperationId!.Value);
                started.Add(operation);
            }
        }

        if (started.Count > 0)
            runner.Wake();
        return started;
    }

    private async Task<bool> ReplayUnfinishedAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT EXISTS (SELECT 1 FROM dead_letter_operations
                           WHERE kind = '{OperationKinds.Replay}' AND status IN ('{OperationStatus.Pending}', '{OperationStatus.Running}'))
            """);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private async Task<List<string>> ChainsWithParkedAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand();
        var where = DeadLetterStore.Where(command.Parameters, DeadLetterFilter.All with { ReplayedFewerThan = options.Value.AutoReplayMaxReplays },
            null, DeadLetterStatus.Parked, replayableOnly: true);
        command.CommandText = $"SELECT DISTINCT d.chain FROM dead_letters d WHERE {where} AND d.chain IS NOT NULL ORDER BY 1";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var chains = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
            chains.Add(reader.GetString(0));
        return chains;
    }
}

/// <summary>Runs <see cref="AutoReplay"/> every DeadLetters:AutoReplayInterval (scheduled only when AutoReplay is on).</summary>
[DisallowConcurrentExecution]
internal sealed class AutoReplayJob(AutoReplay autoReplay) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) =>
        await autoReplay.RunAsync(cancellationToken);
}
