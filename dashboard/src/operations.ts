// Every GraphQL operation the dashboard sends, one file each in budsim/web/operations/, imported as raw text and sent
// verbatim: a server with TRUSTED_DOCUMENTS accepts exactly these texts (by their sha256), so nothing here may
// reformat them. tests/web/test_operations.py checks that each file is imported here and validates against the schema.
import CancelOptimization from "../../budsim/web/operations/CancelOptimization.graphql?raw";
import CreateEndpoint from "../../budsim/web/operations/CreateEndpoint.graphql?raw";
import CreateHardwareProfile from "../../budsim/web/operations/CreateHardwareProfile.graphql?raw";
import DeployEndpoint from "../../budsim/web/operations/DeployEndpoint.graphql?raw";
import EndpointDetail from "../../budsim/web/operations/EndpointDetail.graphql?raw";
import EndpointList from "../../budsim/web/operations/EndpointList.graphql?raw";
import GpuTypes from "../../budsim/web/operations/GpuTypes.graphql?raw";
import HardwareProfileList from "../../budsim/web/operations/HardwareProfileList.graphql?raw";
import ModelSearch from "../../budsim/web/operations/ModelSearch.graphql?raw";
import OptimizationProgress from "../../budsim/web/operations/OptimizationProgress.graphql?raw";
import OptimizeEndpoint from "../../budsim/web/operations/OptimizeEndpoint.graphql?raw";
import RegisterModel from "../../budsim/web/operations/RegisterModel.graphql?raw";
import SimulationDetail from "../../budsim/web/operations/SimulationDetail.graphql?raw";
import SimulationList from "../../budsim/web/operations/SimulationList.graphql?raw";
import type * as T from "./types";

/** An operation's name (its file's name) and its exact text. */
export interface Operation<Data, Variables> {
  readonly name: string;
  readonly text: string;
  // Phantom fields: they carry the result and variable types to `request` and `subscribe`, never set.
  readonly _data?: Data;
  readonly _variables?: Variables;
}

function operation<Data, Variables>(name: string, text: string): Operation<Data, Variables> {
  return { name, text };
}

export const ops = {
  CancelOptimization: operation<T.CancelOptimizationData, { id: string }>("CancelOptimization", CancelOptimization),
  CreateEndpoint: operation<T.CreateEndpointData, { input: T.CreateEndpointInput }>("CreateEndpoint", CreateEndpoint),
  CreateHardwareProfile: operation<T.CreateHardwareProfileData, { input: T.CreateHardwareProfileInput }>(
    "CreateHardwareProfile",
    CreateHardwareProfile,
  ),
  DeployEndpoint: operation<T.DeployEndpointData, { id: string; choice: T.DeployChoiceInput | null }>(
    "DeployEndpoint",
    DeployEndpoint,
  ),
  EndpointDetail: operation<T.EndpointDetailData, { id: string }>("EndpointDetail", EndpointDetail),
  EndpointList: operation<T.EndpointListData, { first: number; after: string | null }>("EndpointList", EndpointList),
  GpuTypes: operation<T.GpuTypesData, Record<string, never>>("GpuTypes", GpuTypes),
  HardwareProfileList: operation<T.HardwareProfileListData, { after: string | null }>(
    "HardwareProfileList",
    HardwareProfileList,
  ),
  ModelSearch: operation<T.ModelSearchData, { search: string | null }>("ModelSearch", ModelSearch),
  OptimizationProgress: operation<T.OptimizationProgressData, { jobId: string }>(
    "OptimizationProgress",
    OptimizationProgress,
  ),
  OptimizeEndpoint: operation<T.OptimizeEndpointData, { id: string }>("OptimizeEndpoint", OptimizeEndpoint),
  RegisterModel: operation<T.RegisterModelData, { name: string; config: unknown }>("RegisterModel", RegisterModel),
  SimulationDetail: operation<T.SimulationDetailData, { id: string }>("SimulationDetail", SimulationDetail),
  SimulationList: operation<T.SimulationListData, T.SimulationListVariables>("SimulationList", SimulationList),
} as const;
