/** `kiln doctor`: checks every requirement of the build host and says how to fix what is missing. */
export {
  runDoctor,
  formatDoctor,
  AARCH64_FIRMWARE,
  type DoctorCheck,
  type DoctorReport,
  type DoctorOptions,
} from './doctor.js';
