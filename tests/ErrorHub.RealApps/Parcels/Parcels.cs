using System.Reflection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ApplicationParts;
using Microsoft.AspNetCore.Mvc.Controllers;
using Microsoft.AspNetCore.OData;
using Microsoft.AspNetCore.OData.Query;
using Microsoft.AspNetCore.OData.Routing.Controllers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OData.Edm;
using Microsoft.OData.ModelBuilder;

namespace ErrorHub.RealApps.Parcels;

/// <summary>An OData service as its documentation sets one up: an entity set, convention routing under <c>odata</c>, query options.</summary>
public static class ParcelService
{
    public static IServiceCollection AddParcelService(this IServiceCollection services)
    {
        services.AddControllers()
            .ConfigureApplicationPartManager(parts => parts.FeatureProviders.Add(new ParcelControllers()))
            .AddOData(options => options.Select().Filter().OrderBy().SetMaxTop(50).AddRouteComponents("odata", Model()));
        services.AddProblemDetails();
        return services;
    }

    private static IEdmModel Model()
    {
        var model = new ODataConventionModelBuilder();
        model.EntitySet<Parcel>("Parcels");
        return model.GetEdmModel();
    }
}

/// <summary>This app's controller is internal, so that the other apps of this library, which map every public controller, leave it out.</summary>
internal sealed class ParcelControllers : IApplicationFeatureProvider<ControllerFeature>
{
    public void PopulateFeature(IEnumerable<ApplicationPart> parts, ControllerFeature feature) =>
        feature.Controllers.Add(typeof(ParcelsController).GetTypeInfo());
}

public sealed class Parcel
{
    public int Id { get; set; }

    public double Weight { get; set; }
}

internal sealed class ParcelsController : ODataController
{
    private static readonly Parcel[] Known = [new() { Id = 1, Weight = 1.5 }, new() { Id = 2, Weight = 4 }];

    [EnableQuery]
    public IQueryable<Parcel> Get() => Known.AsQueryable();

    [EnableQuery]
    public ActionResult<Parcel> Get(int key) => key > 0 ? Known[0] : throw new InvalidOperationException($"Parcel {key} has no depot");
}
