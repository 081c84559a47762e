using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Worker.Simulator.Calls;
using Worker.Simulator.Faults;

namespace Worker.Simulator.Admin;

/// <summary>Run-time control under <c>/_sim</c>: fault profiles per target, call counters, reset. Examples in simulator.http.</summary>
internal static class AdminApi
{
    // Lenient on purpose: people type profiles by hand, with comments and `"always": 503` as a number.
    private static readonly JsonSerializerOptions ProfileJson = new(JsonSerializerDefaults.Web)
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new NumberAsStringConverter() },
    };

    public static IEndpointRouteBuilder MapAdmin(this IEndpointRouteBuilder app)
    {
        var sim = app.MapGroup("/_sim");
        sim.MapGet("/targets", (SimulatorState state) => TypedResults.Ok(state.Targets.Select(t => TargetView.Of(state, t)).ToList()));
        sim.MapGet("/targets/{target}", (string target, SimulatorState state) => TypedResults.Ok(TargetView.Of(state, target)));
        sim.MapPut("/targets/{target}/faults", SetFaultsAsync);
        sim.MapDelete("/targets/{target}/faults", (string target, SimulatorState state) =>
        {
            state.ClearProfile(target);
            return TypedResults.NoContent();
        });
        sim.MapGet("/calls", (SimulatorState state) => TypedResults.Ok(CallsView.Of(state, null)));
        sim.MapGet("/calls/{target}", (string target, SimulatorState state) => TypedResults.Ok(CallsView.Of(state, target)));
        sim.MapDelete("/calls", (SimulatorState state) =>
        {
            state.ClearCounters();
            return TypedResults.NoContent();
        });
        sim.MapPost("/reset", (SimulatorState state) =>
        {
            state.Clear();
            return TypedResults.NoContent();
        });
        return app;
    }

    private static async Task<Results<Ok<TargetView>, ValidationProblem>> SetFaultsAsync(string target, HttpRequest request, SimulatorState state)
    {
        FaultProfile? profile;
        try
        {
            profile = await JsonSerializer.DeserializeAsync<FaultProfile>(request.Body, ProfileJson, request.HttpContext.RequestAborted);
        }
        catch (JsonException e)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [e.Path ?? "$"] = [e.Message] });
        }
        if (profile is null)
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["$"] = ["The body must be a fault profile object."] });

        var errors = profile.Validate();
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors, detail: string.Join(" ", errors.Values.Select(e => e[0])));

        state.SetProfile(target, profile);
        return TypedResults.Ok(TargetView.Of(state, target));
    }

    private sealed class NumberAsStringConverter : JsonConverter<string>
    {
        public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Number ? System.Text.Encoding.UTF8.GetString(reader.ValueSpan) : reader.GetString();

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);

        public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetString()!;

        public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WritePropertyName(value);
    }
}

/// <summary>One target as <c>GET /_sim/targets</c> shows it.</summary>
internal sealed record TargetView(string Name, FaultProfile? Profile, int ScriptRemaining, DateTimeOffset? OutageEndsAt, CallCounters Calls)
{
    public static TargetView Of(SimulatorState state, string target)
    {
        var (profile, scriptRemaining, outageEndsAt) = state.ProfileState(target);
        return new(target, profile, scriptRemaining, outageEndsAt, state.GetCounters(target));
    }
}

/// <summary>Counters and recent calls as <c>GET /_sim/calls[/{target}]</c> shows them.</summary>
internal sealed record CallsView(
    long Total,
    long Succeeded,
    IReadOnlyDictionary<Fault, long> ByFault,
    IReadOnlyDictionary<string, long> ByModel,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, CallCounters>? ByTarget,
    IReadOnlyList<CallRecord> Recent)
{
    public static CallsView Of(SimulatorState state, string? target)
    {
        var counters = state.GetCounters(target);
        var byTarget = target is null ? state.Targets.ToDictionary(t => t, t => state.GetCounters(t)) : null;
        return new(counters.Total, counters.Succeeded, counters.ByFault, counters.ByModel, byTarget, state.Recent(target));
    }
}
