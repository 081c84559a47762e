using Npgsql;
using Worker.Chain;
using Worker.Persistence;

namespace Worker.DeadLetters;

/// <summary>Whether a chain looks able to answer again: what automatic replay waits for.</summary>
public interface IChainHealth
{
    Task<bool> IsHealthyAsync(string chain, CancellationToken cancellationToken);
}

/// <summary>
/// A chain is healthy when its first step (provider and model) answered a live call or a health ping
/// (<c>provider_pings</c>) within the last minute. An approximation of the provider health state, behind
/// <see cref="IChainHealth"/> so it can be swapped for that state.
/// </summary>
public sealed class RecentSuccessChainHealth(NpgsqlDataSource dataSource, ChainCatalog chains, TimeProvider time) : IChainHealth
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    public async Task<bool> IsHealthyAsync(string chain, CancellationToken cancellationToken)
    {
        if (!chains.TryGet(chain, out var steps) || steps.Count == 0)
            return false;

        await using var command = dataSource.CreateCommand($"""
            SELECT EXISTS (SELECT 1 FROM attempts
                           WHERE provider = @provider AND model = @model AND outcome = '{AttemptOutcome.Ok}' AND started_at >= @since)
                OR EXISTS (SELECT 1 FROM provider_pings
                           WHERE provider = @provider AND model = @model AND outcome = '{PingOutcome.Up}' AND pinged_at >= @since)
            """);
        command.Parameters.AddWithValue("provider", steps[0].Provider);
        command.Parameters.AddWithValue("model", steps[0].Model);
        command.Parameters.AddWithValue("since", time.GetUtcNow() - Window);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
