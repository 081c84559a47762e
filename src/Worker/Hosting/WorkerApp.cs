using Microsoft.Extensions.Options;
using Worker.Audit;
using Worker.Chain;
using Worker.DeadLetters;
using Worker.Deferrals;
using Worker.Health;
using Worker.Messaging;
using Worker.Ops;
using Worker.ProviderHealth;
using Worker.Providers;
using Worker.Retention;

namespace Worker.Hosting;

/// <summary>Builds the worker host. Program.cs runs it; integration tests build the same host with overrides.</summary>
public static class WorkerApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            // appsettings.json sits beside the binary; the worker may be started from any directory.
            ContentRootPath = AppContext.BaseDirectory,
            ApplicationName = typeof(WorkerApp).Assembly.GetName().Name,
        });
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        configure?.Invoke(builder);

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddProviders();
        builder.Services.AddProviderHealth();
        builder.Services.AddChains();
        builder.Services.AddMessaging(builder.Configuration);
        builder.Services.AddAudit(builder.Configuration);
        builder.Services.AddWorkerHealth();
        builder.Services.AddOpsApi(builder.Configuration);
        builder.Services.AddRetention();
        builder.Services.AddDeadLetters(builder.Configuration);
        builder.Services.AddDeferrals();

        var app = builder.Build();
        // Every options section is validated before anything reads one (mapping the health checks creates the bus), so
        // bad configuration is reported once, in full, and before anything connects.
        app.Services.GetService<IStartupValidator>()?.Validate();
        app.MapWorkerHealth();
        app.MapOpsApi();
        app.MapDeadLetters();
        return app;
    }
}
