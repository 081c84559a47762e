using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Worker.Ops.Cli;

/// <summary>
/// The command tree. Every command is one or two calls of the ops API; what it prints is a table of the answer.
/// Exit codes: 0 done, 1 the worker refused or failed, or the command was incomplete (the message says why).
/// </summary>
public static class OpsCommands
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static RootCommand Build(OpsClient api, IAnsiConsole console)
    {
        var root = new RootCommand("The LLM completion worker's ops API from a terminal (WORKER_URL, OPS_API_KEY, OPS_USER).");
        root.Add(DeadLetters(api, console));
        root.Add(Requests(api, console));
        var providers = new Command("providers", "Provider health as the worker sees it (GET /providers).");
        providers.SetAction((_, ct) => Run(console, async () => Print(console, await api.GetAsync("/providers", ct))));
        root.Add(providers);
        return root;
    }

    private static Command DeadLetters(OpsClient api, IAnsiConsole console)
    {
        var command = new Command("dead-letters", "Parked requests and error-queue messages: list, inspect, replay, archive.");

        var reason = new Option<string?>("--reason") { Description = "providers_exhausted, undeserializable, consumer_fault, ..." };
        var provider = new Option<string?>("--provider") { Description = "The provider that failed last, e.g. gemini." };
        var chain = new Option<string?>("--chain") { Description = "The chain the items were parked on." };
        var group = new Option<string?>("--group") { Description = "A group key from `dead-letters groups`." };
        var since = new Option<string?>("--since") { Description = "Parked since: an ISO 8601 time or a window such as 1h, 24h, 7d." };
        var until = new Option<string?>("--until") { Description = "Parked before: an ISO 8601 time or a window." };
        var status = new Option<string?>("--status") { Description = "parked (default), replayed, archived or all." };
        var limit = new Option<int?>("--limit") { Description = "At most this many (1 to 500, default 50)." };
        var list = new Command("list", "List dead letters, most recently parked first.") { reason, provider, chain, group, since, until, status, limit };
        list.SetAction((parse, ct) => Run(console, async () =>
        {
            var query = Query(("reason", parse.GetValue(reason)), ("provider", parse.GetValue(provider)), ("chain", parse.GetValue(chain)),
                ("group", parse.GetValue(group)), ("since", parse.GetValue(since)), ("until", parse.GetValue(until)),
                ("status", parse.GetValue(status)), ("limit", parse.GetValue(limit)?.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            var items = (await api.GetAsync("/dead-letters" + query, ct))["items"]!.AsArray();
            console.Write(Table(items, ("id", "Id"), ("status", "Status"), ("reason", "Reason"), ("errorClass", "Class"), ("provider", "Provider"),
                ("chain", "Chain"), ("exceptionType", "Exception"), ("lastParkedAt", "Parked"), ("replayCount", "Replays"), ("group", "Group")));
            console.MarkupLine($"[grey]{items.Count} item(s)[/]");
        }));
        command.Add(list);

        var groups = new Command("groups", "Parked items grouped by cause, largest first.");
        groups.SetAction((_, ct) => Run(console, async () =>
        {
            var rows = (await api.GetAsync("/dead-letters/groups", ct)).AsArray();
            console.Write(Table(rows, ("group", "Group"), ("count", "Count"), ("reason", "Reason"), ("errorClass", "Class"), ("provider", "Provider"),
                ("chain", "Chain"), ("exceptionType", "Exception"), ("firstSeen", "First seen"), ("lastSeen", "Last seen")));
        }));
        command.Add(groups);

        var id = new Argument<string>("id") { Description = "A request id (or a dead-letter id)." };
        var show = new Command("show", "One dead letter: its cause, the message a replay sends, its attempt timeline and operations.") { id };
        show.SetAction((parse, ct) => Run(console, async () => ShowDeadLetter(console, await api.GetAsync($"/dead-letters/{parse.GetValue(id)}", ct))));
        command.Add(show);

        command.Add(Operation("replay", "Replay parked items at the worker's rate (DeadLetters:ReplayPerSecond) and follow the progress.", api, console,
            redirect: true));
        command.Add(Operation("archive", "Resolve parked items without replaying them (kept for DeadLetters:ArchiveRetentionDays).", api, console,
            redirect: false));

        var operationId = new Argument<string>("operation-id") { Description = "As printed by replay or archive." };
        var operation = new Command("operation", "Progress of a replay or archive.") { operationId };
        operation.SetAction((parse, ct) => Run(console, async () =>
            ShowOperation(console, await api.GetAsync($"/dead-letters/operations/{parse.GetValue(operationId)}", ct))));
        command.Add(operation);
        return command;
    }

    /// <summary><c>replay</c> and <c>archive</c>: the same selection (ids, --all, or filters), --dry-run; replay adds --chain.</summary>
    private static Command Operation(string name, string description, OpsClient api, IAnsiConsole console, bool redirect)
    {
        var ids = new Option<string[]>("--id") { Description = "Request ids (repeat, or several after one --id).", AllowMultipleArgumentsPerToken = true };
        var all = new Option<bool>("--all") { Description = "Every parked item." };
        var reason = new Option<string?>("--reason") { Description = "Only items parked for this reason." };
        var provider = new Option<string?>("--provider") { Description = "Only items whose last provider is this one." };
        var fromChain = new Option<string?>("--from-chain") { Description = "Only items parked on this chain." };
        var group = new Option<string?>("--group") { Description = "Only this group (see `dead-letters groups`)." };
        var since = new Option<string?>("--since") { Description = "Only items parked since (ISO 8601 or 1h, 24h, ...)." };
        var until = new Option<string?>("--until") { Description = "Only items parked before." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Only count what would be selected." };
        var chain = new Option<string?>("--chain") { Description = "Replay onto this chain instead of the items' own." };
        var noWait = new Option<bool>("--no-wait") { Description = "Print the operation id and return at once." };
        var command = new Command(name, description) { ids, all, reason, provider, fromChain, group, since, until, dryRun };
        if (redirect)
        {
            command.Add(chain);
            command.Add(noWait);
        }

        command.SetAction((parse, ct) => Run(console, async () =>
        {
            var body = new JsonObject();
            var selectedIds = parse.GetValue(ids) ?? [];
            var filter = new JsonObject();
            foreach (var (key, option) in new[] { ("reason", reason), ("provider", provider), ("chain", fromChain), ("group", group), ("since", since), ("until", until) })
            {
                if (parse.GetValue(option) is { Length: > 0 } value)
                    filter[key] = value;
            }

            var ways = (selectedIds.Length > 0 ? 1 : 0) + (parse.GetValue(all) ? 1 : 0) + (filter.Count > 0 ? 1 : 0);
            if (ways != 1)
                throw new OpsException($"say what to {name}: --id ..., --all, or filters (--reason, --provider, --from-chain, --group, --since, --until); one of the three.");

            if (selectedIds.Length > 0)
                body["requestIds"] = new JsonArray([.. selectedIds.Select(i => (JsonNode)JsonValue.Create(i))]);
            else
                body["filter"] = filter;
            body["dryRun"] = parse.GetValue(dryRun);
            if (redirect && parse.GetValue(chain) is { Length: > 0 } target)
                body["chain"] = target;

            var accepted = await api.PostAsync($"/dead-letters/{name}", body, ct);
            var selected = (int)accepted["selected"]!;
            if (parse.GetValue(dryRun))
            {
                console.MarkupLine($"Dry run: {selected} parked item(s) would be {(name == "replay" ? "replayed" : "archived")}.");
                return;
            }

            var operationId = (string)accepted["operationId"]!;
            console.MarkupLine($"Operation [bold]{operationId}[/]: {selected} item(s) selected.");
            if (name == "replay" && selected > 0 && !parse.GetValue(noWait))
                await FollowAsync(api, console, operationId, selected, ct);
        }));
        return command;
    }

    /// <summary>Progress bars until every selected item is sent and every replayed request has an outcome.</summary>
    private static async Task FollowAsync(OpsClient api, IAnsiConsole console, string operationId, int total, CancellationToken cancellationToken)
    {
        JsonNode operation = new JsonObject();
        await console.Progress().AutoClear(false).StartAsync(async progress =>
        {
            var sent = progress.AddTask("Sent", maxValue: total);
            var answered = progress.AddTask("Outcomes", maxValue: total);
            while (true)
            {
                operation = await api.GetAsync($"/dead-letters/operations/{operationId}", cancellationToken);
                var outcomes = operation["outcomes"]!;
                sent.Value = (int)operation["done"]! + (int)operation["skipped"]!;
                answered.MaxValue = Math.Max(1, (int)operation["done"]!);
                answered.Value = (int)outcomes["succeeded"]! + (int)outcomes["failed"]! + (int)outcomes["parked"]!;
                if ((string?)operation["status"] == "completed" && (int)outcomes["pending"]! == 0)
                    break;
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            }

            sent.Value = sent.MaxValue;
            answered.Value = answered.MaxValue;
        });
        ShowOperation(console, operation);
    }

    private static Command Requests(OpsClient api, IAnsiConsole console)
    {
        var command = new Command("requests", "Requests in the audit trail.");
        var id = new Argument<string>("id") { Description = "The request id." };
        var show = new Command("show", "One request with its attempt timeline.") { id };
        show.SetAction((parse, ct) => Run(console, async () =>
        {
            var detail = await api.GetAsync($"/requests/{parse.GetValue(id)}", ct);
            console.Write(Fields(detail["request"]!.AsObject()));
            console.Write(Timeline(detail["attempts"]!.AsArray()));
        }));
        command.Add(show);
        return command;
    }

    private static void ShowDeadLetter(IAnsiConsole console, JsonNode detail)
    {
        console.Write(new Rule("Dead letter").LeftJustified());
        console.Write(Fields(detail["item"]!.AsObject()));
        if (detail["message"] is { } message)
        {
            console.Write(new Rule("Message a replay sends").LeftJustified());
            console.WriteLine(message.ToJsonString(Indented));
        }
        else if ((string?)detail["body"] is { } body)
        {
            console.Write(new Rule($"Body ({(string?)detail["contentType"] ?? "no content type"}): nothing to replay").LeftJustified());
            console.WriteLine(body);
        }

        if ((string?)detail["stackTrace"] is { } stack)
        {
            console.Write(new Rule("Stack trace (trimmed)").LeftJustified());
            console.WriteLine(stack);
        }

        if (detail["request"]?["attempts"] is JsonArray attempts)
        {
            console.Write(new Rule("Attempts").LeftJustified());
            console.Write(Timeline(attempts));
        }

        if (detail["operations"] is JsonArray { Count: > 0 } operations)
        {
            console.Write(new Rule("Operations").LeftJustified());
            console.Write(Table(operations, ("id", "Operation"), ("kind", "Kind"), ("requestedBy", "By"), ("requestedAt", "At"), ("state", "State"),
                ("note", "Note")));
        }
    }

    private static void ShowOperation(IAnsiConsole console, JsonNode operation)
    {
        var fields = operation.AsObject().Where(p => p.Key is not ("outcomes" or "selection")).ToList();
        var table = new Table().HideHeaders().AddColumn("").AddColumn("");
        foreach (var (key, value) in fields)
            table.AddRow(Markup.Escape(key), Markup.Escape(Cell(value)));
        table.AddRow("selection", Markup.Escape(operation["selection"]?.ToJsonString() ?? ""));
        if (operation["outcomes"] is JsonObject outcomes)
            table.AddRow("outcomes", Markup.Escape(string.Join(", ", outcomes.Select(o => $"{o.Key} {o.Value}"))));
        console.Write(table);
    }

    private static Table Timeline(JsonArray attempts) => Table(attempts, ("step", "Step"), ("provider", "Provider"), ("model", "Model"),
        ("attempt", "Try"), ("startedAt", "Started"), ("latencyMs", "ms"), ("outcome", "Outcome"), ("errorClass", "Class"), ("httpStatus", "HTTP"),
        ("decision", "Decision"), ("note", "Note"));

    private static Table Fields(JsonObject item)
    {
        var table = new Table().HideHeaders().AddColumn("").AddColumn("");
        foreach (var (key, value) in item)
            table.AddRow(Markup.Escape(key), Markup.Escape(Cell(value)));
        return table;
    }

    private static Table Table(JsonArray rows, params (string Field, string Header)[] columns)
    {
        var table = new Table();
        foreach (var (_, header) in columns)
            table.AddColumn(header);
        foreach (var row in rows)
            table.AddRow([.. columns.Select(c => Markup.Escape(Cell(row?[c.Field])))]);
        return table;
    }

    /// <summary>Any answer as a table when it is a list of objects, else as indented JSON.</summary>
    private static void Print(IAnsiConsole console, JsonNode answer)
    {
        if (answer is JsonArray { Count: > 0 } rows && rows.All(r => r is JsonObject))
        {
            var columns = rows.SelectMany(r => r!.AsObject().Where(p => p.Value is not (JsonObject or JsonArray)).Select(p => p.Key)).Distinct();
            console.Write(Table(rows, [.. columns.Select(c => (c, c))]));
        }
        else
        {
            console.WriteLine(answer.ToJsonString(Indented));
        }
    }

    private static string Cell(JsonNode? value) => value switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => value.ToJsonString(),
    };

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var present = parameters.Where(p => !string.IsNullOrEmpty(p.Value)).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return present.Count == 0 ? "" : "?" + string.Join("&", present);
    }

    private static async Task<int> Run(IAnsiConsole console, Func<Task> action)
    {
        try
        {
            await action();
            return 0;
        }
        catch (OpsException e)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return 1;
        }
    }
}
