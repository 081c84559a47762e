using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Worker.Chain;
using Worker.Ops;
using Worker.Persistence;

namespace Worker.DeadLetters;

/// <summary>
/// The dead-letter routes of the ops API, behind the same bearer token (OpsAuthFilter). Handlers take strings and read
/// POST bodies themselves, so nothing is bound, and no 400 given, before the token is checked. Examples in ops/worker.http.
/// </summary>
public static class DeadLetterApi
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    /// <summary>The header naming who acts, recorded on every operation. Never the token.</summary>
    public const string UserHeader = "X-Ops-User";

    public static IEndpointRouteBuilder MapDeadLetters(this IEndpointRouteBuilder app)
    {
        var deadLetters = app.MapGroup("/dead-letters").AddEndpointFilter<OpsAuthFilter>();
        deadLetters.MapGet("", ListAsync);
        deadLetters.MapGet("/groups", GroupsAsync);
        deadLetters.MapGet("/operations/{operationId}", GetOperationAsync);
        deadLetters.MapGet("/{requestId}", GetAsync);
        deadLetters.MapPost("/replay", ReplayAsync);
        deadLetters.MapPost("/archive", ArchiveAsync);
        return app;
    }

    private static async Task<Results<Ok<DeadLetterList>, ValidationProblem>> ListAsync(
        string? reason, string? provider, string? chain, string? group, string? since, string? until, string? status, string? limit,
        DeadLetterStore store, TimeProvider time, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var filter = DeadLetterFilter.TryParse(reason, provider, chain, group, since, until, time.GetUtcNow(), errors);
        var (statusFilter, take) = ParseListOptions(status, limit, errors);
        if (filter is null || errors.Count > 0)
            return TypedResults.ValidationProblem(errors);

        return TypedResults.Ok(new DeadLetterList(filter, statusFilter, take, await store.ListAsync(filter, statusFilter, take, cancellationToken)));
    }

    /// <summary><c>status</c>: parked (default), replayed, archived or all; <c>limit</c>: 1 to 500 (default 50).</summary>
    internal static (string? Status, int Limit) ParseListOptions(string? status, string? limit, Dictionary<string, string[]> errors)
    {
        string? statusFilter = DeadLetterStatus.Parked;
        if (status == "all")
            statusFilter = null;
        else if (!string.IsNullOrEmpty(status) && DeadLetterStatus.All.Contains(status))
            statusFilter = status;
        else if (!string.IsNullOrEmpty(status))
            errors["status"] = [$"must be one of {string.Join(", ", DeadLetterStatus.All)} or all (default {DeadLetterStatus.Parked})."];

        var take = DefaultLimit;
        if (!string.IsNullOrEmpty(limit)
            && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out take) || take is < 1 or > MaxLimit))
            errors["limit"] = [$"must be a whole number from 1 to {MaxLimit} (default {DefaultLimit})."];

        return (statusFilter, take);
    }

    private static async Task<Ok<IReadOnlyList<DeadLetterGroup>>> GroupsAsync(DeadLetterStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.GroupsAsync(cancellationToken));

    private static async Task<Results<Ok<DeadLetterDetail>, ProblemHttpResult, ValidationProblem>> GetAsync(
        string requestId, DeadLetterStore store, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(requestId, out var id))
            return Invalid("requestId", "must be a GUID: a request id or a dead-letter id.");

        var detail = await store.GetAsync(id, cancellationToken);
        return detail is null
            ? TypedResults.Problem(title: "Unknown dead letter", detail: $"Nothing with id {id} was ever parked (or it was resolved and deleted by retention).",
                statusCode: StatusCodes.Status404NotFound)
            : TypedResults.Ok(detail);
    }

    private static async Task<Results<Ok<OperationView>, ProblemHttpResult, ValidationProblem>> GetOperationAsync(
        string operationId, DeadLetterStore store, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(operationId, out var id))
            return Invalid("operationId", "must be a GUID, as returned by POST /dead-letters/replay or /archive.");

        var operation = await store.GetOperationAsync(id, cancellationToken);
        return operation is null
            ? TypedResults.Problem(title: "Unknown operation", detail: $"No operation with id {id}.", statusCode: StatusCodes.Status404NotFound)
            : TypedResults.Ok(operation);
    }

    private static async Task<Results<Accepted<OperationAccepted>, Ok<OperationAccepted>, ValidationProblem>> ReplayAsync(
        HttpRequest http, DeadLetterStore store, ChainCatalog chains, ReplayRunner runner, TimeProvider time, ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        var (selection, errors) = await ReadSelectionAsync(http, allowRedirect: true, time, cancellationToken);
        if (selection?.RedirectChain is { } chain && !chains.TryGet(chain, out _))
            errors["chain"] = [$"'{chain}' is not a configured chain; configured: {string.Join(", ", chains.Names)}."];
        if (selection is null || errors.Count > 0)
            return TypedResults.ValidationProblem(errors);

        if (selection.DryRun)
            return TypedResults.Ok(new OperationAccepted(null, await store.CountAsync(selection, OperationKinds.Replay, cancellationToken), DryRun: true));

        var who = OpsUser(http);
        var accepted = await store.CreateReplayAsync(selection, who, time.GetUtcNow(), cancellationToken);
        runner.Wake();
        Log.OperationRecorded(loggers.CreateLogger(typeof(DeadLetterApi)), OperationKinds.Replay, accepted.OperationId!.Value, who, accepted.Selected,
            DeadLetterStore.SelectionJson(selection));
        return TypedResults.Accepted($"/dead-letters/operations/{accepted.OperationId}", accepted);
    }

    private static async Task<Results<Ok<OperationAccepted>, ValidationProblem>> ArchiveAsync(
        HttpRequest http, DeadLetterStore store, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var (selection, errors) = await ReadSelectionAsync(http, allowRedirect: false, time, cancellationToken);
        if (selection is null)
            return TypedResults.ValidationProblem(errors);

        if (selection.DryRun)
            return TypedResults.Ok(new OperationAccepted(null, await store.CountAsync(selection, OperationKinds.Archive, cancellationToken), DryRun: true));

        var who = OpsUser(http);
        var accepted = await store.ArchiveAsync(selection, who, time.GetUtcNow(), cancellationToken);
        Log.OperationRecorded(loggers.CreateLogger(typeof(DeadLetterApi)), OperationKinds.Archive, accepted.OperationId!.Value, who, accepted.Selected,
            DeadLetterStore.SelectionJson(selection));
        return TypedResults.Ok(accepted);
    }

    private static async Task<(DeadLetterSelection? Selection, Dictionary<string, string[]> Errors)> ReadSelectionAsync(
        HttpRequest http, bool allowRedirect, TimeProvider time, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(http.Body);
        var body = await reader.ReadToEndAsync(cancellationToken);
        var selection = DeadLetterSelection.TryParse(body, allowRedirect, time.GetUtcNow(), out var errors);
        return (selection, errors);
    }

    /// <summary>Who acts: the X-Ops-User header, cleaned and cut to 128 characters; "ops" when absent.</summary>
    internal static string OpsUser(HttpRequest http)
    {
        var name = new string([.. http.Headers[UserHeader].ToString().Where(c => !char.IsControl(c))]).Trim();
        return name.Length == 0 ? "ops" : name[..Math.Min(name.Length, 128)];
    }

    private static ValidationProblem Invalid(string parameter, string problem) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [parameter] = [problem] });
}
